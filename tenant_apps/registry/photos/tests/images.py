"""Generated test pictures: drawn head-and-shoulder portraits that OpenCV's bundled
frontal-face Haar cascade really detects (the tests prove detection), plus helpers to
encode them as the uploads a school sees (phone JPEG with EXIF orientation, PNG, HEIC...).

No file is downloaded and none is checked in: every picture is drawn here.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFilter

LIGHT_BLUE = (170, 205, 235)
WHITE = (255, 255, 255)
RED = (200, 30, 40)
SKIN = (225, 180, 150)
HAIR = (25, 20, 20)
MARKER = (255, 0, 0)


def draw_face(img: Image.Image, cx: int, cy: int, fw: int) -> None:
    """A flat but face-like head (hair, brows, eyes, nose, mouth) centred at (cx, cy),
    `fw` pixels wide: the Haar cascade finds it from about 40 px to thousands."""
    d = ImageDraw.Draw(img)
    fh = int(fw * 1.3)
    d.ellipse(
        [cx - int(fw * 1.6), cy + int(fh * 0.9), cx + int(fw * 1.6), cy + int(fh * 3)],
        fill=(40, 50, 80),
    )
    d.rectangle([cx - fw // 3, cy + fh // 2, cx + fw // 3, cy + fh], fill=(205, 160, 130))
    d.ellipse(
        [cx - int(fw * 0.58), cy - int(fh * 0.62), cx + int(fw * 0.58), cy + int(fh * 0.2)],
        fill=HAIR,
    )
    d.ellipse([cx - fw // 2, cy - fh // 2, cx + fw // 2, cy + fh // 2], fill=SKIN)
    d.rectangle(
        [
            cx - fw // 2 + max(1, fw // 32),
            cy - fh // 2,
            cx + fw // 2 - max(1, fw // 32),
            cy - int(fh * 0.28),
        ],
        fill=HAIR,
    )
    ex, ey, er = int(fw * 0.2), cy - int(fh * 0.06), max(1, int(fw * 0.07))
    for side in (-1, 1):
        x = cx + side * ex
        d.rectangle(
            [x - int(er * 1.8), ey - int(er * 2.4), x + int(er * 1.8), ey - int(er * 1.7)],
            fill=(50, 35, 30),
        )
        d.ellipse([x - int(er * 1.5), ey - er, x + int(er * 1.5), ey + er], fill=(250, 250, 250))
        d.ellipse([x - er, ey - er, x + er, ey + er], fill=(30, 20, 20))
    d.polygon(
        [
            (cx, ey + er),
            (cx - int(fw * 0.07), cy + int(fh * 0.15)),
            (cx + int(fw * 0.07), cy + int(fh * 0.15)),
        ],
        fill=(195, 145, 120),
    )
    my = cy + int(fh * 0.27)
    d.ellipse(
        [cx - int(fw * 0.17), my - int(fh * 0.03), cx + int(fw * 0.17), my + int(fh * 0.03)],
        fill=(150, 70, 70),
    )


def portrait(
    size: tuple[int, int] = (600, 800),
    *,
    background: tuple[int, int, int] = LIGHT_BLUE,
    faces: Sequence[tuple[float, float, float]] = ((0.5, 0.45, 0.32),),
    marker: bool = False,
    soften: bool = True,
) -> Image.Image:
    """An upright RGB portrait. `faces` are (centre x, centre y, width) as fractions of the
    picture's width/height/width. `marker` puts a red square in the top-left corner, so a
    test can tell where "up" and "left" ended up after rotation."""
    w, h = size
    img = Image.new("RGB", size, background)
    for fx, fy, fwf in faces:
        draw_face(img, int(w * fx), int(h * fy), int(w * fwf))
    if marker:
        ImageDraw.Draw(img).rectangle([0, 0, w // 6, h // 10], fill=MARKER)
    if soften:
        # A camera never gives razor edges; a slight blur also keeps the cascade happy.
        smallest = min((fwf for _, _, fwf in faces), default=0.3) * w
        img = img.filter(ImageFilter.GaussianBlur(max(0.8, smallest / 300)))
    return img


# EXIF orientation → the transpose that *stores* an upright picture so that a viewer
# applying the tag shows it upright again (the inverse of ImageOps.exif_transpose).
_STORE = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,  # viewer turns 90° clockwise to show it
    8: Image.Transpose.ROTATE_270,
}


def encode(
    img: Image.Image,
    fmt: str = "JPEG",
    *,
    orientation: int = 1,
    quality: int = 90,
    gps: bool = False,
    **params: object,
) -> bytes:
    """Encode as an upload. With `orientation` the pixels are stored turned and the EXIF tag
    says how to turn them back, as a phone does; `gps` adds a GPS block and a camera make."""
    stored = img.transpose(_STORE[orientation]) if orientation in _STORE else img
    exif = Image.Exif()
    if orientation != 1:
        exif[0x0112] = orientation
    if gps:
        exif[0x010F] = "TestPhone"
        exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0), 3: "E", 4: (116.0, 23.0, 17.0)}
    buf = io.BytesIO()
    kwargs: dict[str, object] = dict(params)
    if fmt == "JPEG":
        kwargs.setdefault("quality", quality)
    if len(exif) and fmt in {"JPEG", "PNG", "WEBP", "HEIF"}:
        kwargs["exif"] = exif.tobytes()
    stored.save(buf, fmt, **kwargs)
    return buf.getvalue()


def phone_jpeg(
    orientation: int = 1, *, size: tuple[int, int] = (3000, 4000), gps: bool = False
) -> bytes:
    """A phone-sized upright portrait on light blue, stored as the phone would."""
    return encode(portrait(size, marker=True), orientation=orientation, gps=gps, quality=88)
