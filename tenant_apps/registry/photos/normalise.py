"""The national photo file from any reasonable upload (issue 17 point 2, domain §3.13).

Pure: bytes in, bytes and findings out; no model, no database, no storage. The pages,
jobs and bulk import (photos app) call `normalise` for an upload and `check_national`
for a file that claims to be national already.

The steps, each cheap because nothing works at the phone's full resolution:

1. Refuse upfront (PhotoRejected): too many bytes, a format we do not read, a header that
   declares more pixels than `max_pixels` (a decompression bomb, checked before decoding),
   a file that does not decode to the end.
2. Decode JPEG with `draft()` (libjpeg's DCT scaling) at no more than about twice the
   output, then turn upright by the EXIF orientation.
3. Find faces with OpenCV's bundled frontal-face Haar cascade on a grey copy whose long
   side is DETECT_SIDE px.
4. Crop around the largest face enlarged to the head (hair above, chin below) so the head
   is centred and HEAD_SHARE of the height, at 358:441; where the crop leaves the frame,
   pad with the picture's own border colour. No face: the largest centred crop.
5. Resize with Lanczos, convert to sRGB when the upload carries an ICC profile, then build
   a fresh image, so no EXIF, GPS, ICC or XMP survives.
6. Encode baseline JPEG, binary-searching the largest quality in [QUALITY_MIN,
   QUALITY_MAX] that fits `max_bytes`.
7. Warn (never refuse) on background, no/many faces, dark, blurred, small source.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from functools import cache
from typing import Any

import cv2
import numpy as np
import pillow_heif
from PIL import Image, ImageCms, UnidentifiedImageError

from common.exceptions import ApplicationError

pillow_heif.register_heif_opener()
# One thread: the bench and the import job spread photos over processes, and OpenCV's own
# pool would only fight them for the same two cores.
cv2.setNumThreads(1)

# Formats we open. Anything else Pillow could read (EPS runs Ghostscript, PSD, ICO ...)
# is refused as not a photo.
FORMATS = ("JPEG", "PNG", "HEIF", "AVIF", "WEBP", "BMP", "TIFF", "GIF")

DETECT_SIDE = 480  # long side of the detection copy: faces down to ~1/15 of the width
QUICK_SIDE = 240  # the first, cheap look for the face of a head shot (see _faces)
CASCADE_MIN = 24  # the frontal cascade's window: it finds no face smaller than this
HEAD_SHARE = 2 / 3  # head height / photo height (domain §3.13 "头部约占2/3")
HEAD_TOP_MARGIN = 0.10  # space above the hair, as a share of the photo height
# The cascade's box runs from about the brows to below the mouth; the head reaches
# HEAD_ABOVE box heights above it (hair) and HEAD_BELOW box heights below its top (chin).
HEAD_ABOVE = 0.45
HEAD_BELOW = 1.10
SECOND_FACE_MIN = 0.5  # a second face counts when it is at least half the largest's width
QUALITY_MIN = 30  # below this a head shot shows blocks; under it we refuse (never seen)
QUALITY_MAX = 95  # above it the bytes grow with no visible gain
# Background: border strips of the result in OpenCV HSV (H 0-180, S and V 0-255). Light blue
# is hue 85-130 (170°-260°), saturation 20-200 (so both the pale 淡蓝 and the common ID-photo
# blue pass, white and grey do not), value ≥ 110. Warn when under BLUE_SHARE of the pixels are.
BLUE_HUE = (85, 130)
BLUE_SAT = (20, 200)
BLUE_VAL_MIN = 110
BLUE_SHARE = 0.6
DARK_MEAN = 70  # mean luma (0-255) of the face (or the whole photo without a face)
# Variance of the Laplacian on the face at output size, after stretching the face's 2nd-98th
# percentile to 0-255 so a dim but sharp face is not called blurred. Calibrated on drawn
# faces (sharp ≈ 100, Gaussian blur of 1 % of the face width ≈ 30); real photos score higher.
BLUR_VAR = 40.0


@dataclass(frozen=True)
class PhotoSpec:
    width: int
    height: int
    max_bytes: int
    max_upload_bytes: int
    max_pixels: int

    @classmethod
    def from_settings(cls) -> PhotoSpec:
        from django.conf import settings

        return cls(
            width=settings.PHOTO_WIDTH,
            height=settings.PHOTO_HEIGHT,
            max_bytes=settings.PHOTO_MAX_BYTES,
            max_upload_bytes=settings.PHOTO_MAX_UPLOAD_BYTES,
            max_pixels=settings.PHOTO_MAX_PIXELS,
        )


DEFAULT_SPEC = PhotoSpec(
    width=358,
    height=441,
    max_bytes=60 * 1024,
    max_upload_bytes=20 * 1024 * 1024,
    max_pixels=50_000_000,
)


@dataclass(frozen=True)
class PhotoWarning:
    code: str
    message: str


@dataclass(frozen=True)
class Normalised:
    jpeg: bytes
    quality: int
    warnings: tuple[PhotoWarning, ...]
    faces: int
    source_format: str
    source_size: tuple[int, int]


class PhotoRejected(ApplicationError):
    def __init__(self, message: str, *, code: str = "photo") -> None:
        super().__init__(message, code=code)


MSG_TOO_LARGE = "文件太大（{size}），照片文件不能超过 {limit}。请换一张或压缩后再上传。"
MSG_EMPTY = "文件是空的，请重新选择照片。"
MSG_NOT_IMAGE = "这不是可识别的图片文件。请上传 JPEG、PNG 或 HEIC 格式的照片。"
MSG_BOMB = "图片尺寸异常（{w} × {h} 像素），超过 {limit} 万像素的上限，不能处理。请上传普通照片。"
MSG_BOMB_HUGE = (
    "图片声明的尺寸远超 {limit} 万像素的上限，可能是恶意文件，不能处理。请上传普通照片。"
)
MSG_BROKEN = "图片文件不完整或已损坏，无法读取。请重新拍摄或导出后再上传。"
MSG_TOO_BIG_ENCODED = "照片压缩到最低质量仍超过 {limit}，无法生成合格文件。请换一张背景简单的照片。"

W_BACKGROUND = "背景不是淡蓝色。国家学籍照片要求淡蓝色背景，请在淡蓝色背景前重新拍摄。"
W_NO_FACE = "没有找到人脸，已按画面中心裁剪。请确认是本人正面免冠照片，必要时重新拍摄。"
W_MANY_FACES = "照片中有 {n} 张人脸，已按最大的一张裁剪。学籍照片应为本人单人照。"
W_DARK = "照片太暗，面部看不清。请在光线充足处重新拍摄。"
W_BLURRED = "照片模糊，面部不清晰。请对好焦、保持手机稳定后重新拍摄。"
W_SMALL = "原图分辨率太低（{w} × {h} 像素），放大后会不清晰。请上传更清晰的原图。"
W_FORMAT = "不是 JPEG 文件（实际为 {fmt}）。国家学籍照片须为 JPEG 格式。"
W_SIZE = "尺寸为 {w} × {h} 像素，国家要求 {W} × {H} 像素。"
W_BYTES = "文件大小为 {size}，超过国家要求的 {limit}。"


def _kb(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    return f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} 字节"


@cache
def _cascade() -> cv2.CascadeClassifier:
    # Ships inside opencv-python-headless (cv2.data); nothing is downloaded.
    folder: str = cv2.data.haarcascades  # type: ignore[attr-defined]  # untyped submodule
    return cv2.CascadeClassifier(folder + "haarcascade_frontalface_default.xml")


def _open(data: bytes, spec: PhotoSpec) -> Image.Image:
    """Open and check the header only; nothing is decoded yet."""
    if not data:
        raise PhotoRejected(MSG_EMPTY, code="empty")
    if len(data) > spec.max_upload_bytes:
        raise PhotoRejected(
            MSG_TOO_LARGE.format(size=_kb(len(data)), limit=_kb(spec.max_upload_bytes)),
            code="too_large",
        )
    try:
        with warnings.catch_warnings():
            # Our own pixel limit below is the rule; Pillow's warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError as exc:
        # Pillow's own guard (twice its MAX_IMAGE_PIXELS) fired first: far beyond ours.
        raise PhotoRejected(
            MSG_BOMB_HUGE.format(limit=spec.max_pixels // 10_000), code="bomb"
        ) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise PhotoRejected(MSG_NOT_IMAGE, code="not_image") from exc
    w, h = img.size
    if w * h > spec.max_pixels or w <= 0 or h <= 0:
        raise PhotoRejected(MSG_BOMB.format(w=w, h=h, limit=spec.max_pixels // 10_000), code="bomb")
    return img


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB 8-bit from any mode: transparency on white, 16-bit scaled, CMYK through Pillow."""
    if img.mode == "RGB":
        return img
    if img.mode in {"I;16", "I;16B", "I;16L", "I"}:
        arr = np.asarray(img)
        # 16-bit greyscale (PNG opens it as I;16 or I): scale to 8 bits, never clip.
        top = 65535 if arr.max(initial=0) > 255 else 255
        grey = (arr.astype(np.float32) * (255 / top)).clip(0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    if img.mode in {"RGBA", "LA", "PA"} or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return img.convert("RGB")


# EXIF orientation → the transposition that makes the picture upright (as
# ImageOps.exif_transpose does).
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _decode(
    img: Image.Image, spec: PhotoSpec, scale_hint: float = 2.0
) -> tuple[Image.Image, bytes | None]:
    """Decode upright RGB, JPEG at reduced size; returns the image and its ICC profile."""
    orientation = img.getexif().get(0x0112, 1)
    if img.format == "JPEG":
        # draft() keeps the decoded size ≥ the request: ask for about `scale_hint` × the
        # output in the stored orientation (5-8 swap the sides).
        want = (int(spec.width * scale_hint), int(spec.height * scale_hint))
        if orientation in {5, 6, 7, 8}:
            want = (want[1], want[0])
        img.draft("RGB", want)
    icc = img.info.get("icc_profile")
    try:
        img.load()
    except (OSError, ValueError, SyntaxError) as exc:
        raise PhotoRejected(MSG_BROKEN, code="broken") from exc
    rgb = _to_rgb(img)
    if img.format != "JPEG":
        # PNG, HEIC and the rest decode at full size only; shrink by an integer factor
        # (box averaging, one pass) to the size draft() gives a JPEG, before anything else
        # touches the pixels: a 12-megapixel PNG otherwise costs every later step 16 times
        # over (measured: 350 ms a PNG against 70 ms a JPEG, bench/RESULTS.md).
        want = (int(spec.width * scale_hint), int(spec.height * scale_hint))
        if orientation in {5, 6, 7, 8}:
            want = (want[1], want[0])
        factor = min(rgb.width // max(want[0], 1), rgb.height // max(want[1], 1))
        if factor > 1:
            rgb = rgb.reduce(factor)
    # By the tag read above: the conversion and the reduction made new images that no
    # longer carry it, so ImageOps.exif_transpose would see nothing to do.
    method = _ORIENTATION.get(orientation)
    return (rgb.transpose(method) if method is not None else rgb), icc


def _detect(
    grey_full: Image.Image, side: int
) -> tuple[list[tuple[float, float, float, float]], float]:
    """Cascade boxes (x, y, w, h) in `grey_full` pixels, largest first, on a copy whose long
    side is `side`; and that copy's scale."""
    scale = min(1.0, side / max(grey_full.size))
    small = grey_full.resize(
        (max(1, round(grey_full.width * scale)), max(1, round(grey_full.height * scale))),
        Image.Resampling.BOX,
    )
    grey = np.asarray(small)
    least = max(CASCADE_MIN, min(grey.shape) // 15)
    found = _cascade().detectMultiScale(
        grey, scaleFactor=1.1, minNeighbors=5, minSize=(least, least)
    )
    boxes = sorted(
        (
            (x / scale, y / scale, w / scale, h / scale)
            for x, y, w, h in (found if len(found) else [])
        ),
        key=lambda b: -b[2],
    )
    return boxes, scale


def _faces(rgb: Image.Image) -> tuple[list[tuple[float, float, float, float]], float]:
    """Faces as (x, y, w, h) in `rgb` pixels, largest first; and the detection scale.

    Most uploads are head shots whose face fills a good part of the frame, and the
    cascade's cost grows with the pixels it scans: first look on a copy of QUICK_SIDE px.
    That copy is enough when it finds a face at least twice the cascade's smallest window,
    because then a second face of half that width (the smallest that counts) is still
    above the window and would have been found too. Otherwise (no face, or only a small
    one: a distant child) look again on the DETECT_SIDE copy, as finely as before."""
    grey_full = rgb.convert("L")  # one channel to shrink instead of three
    boxes, scale = _detect(grey_full, QUICK_SIDE)
    if not boxes or boxes[0][2] * scale < CASCADE_MIN / SECOND_FACE_MIN:
        boxes, scale = _detect(grey_full, DETECT_SIDE)
    if boxes:
        boxes = [b for b in boxes if b[2] >= boxes[0][2] * SECOND_FACE_MIN]
    return boxes, scale


def _crop_box(
    size: tuple[int, int], face: tuple[float, float, float, float] | None, spec: PhotoSpec
) -> tuple[float, float, float, float]:
    """(left, top, width, height) in source pixels; may leave the frame (then padded)."""
    w, h = size
    aspect = spec.width / spec.height
    if face is None:
        ch = min(h, w / aspect)
        cw = ch * aspect
        return (w - cw) / 2, (h - ch) / 2, cw, ch
    fx, fy, fw, fh = face
    head_top = fy - HEAD_ABOVE * fh
    head_h = (HEAD_ABOVE + HEAD_BELOW) * fh
    ch = head_h / HEAD_SHARE
    cw = ch * aspect
    return fx + fw / 2 - cw / 2, head_top - HEAD_TOP_MARGIN * ch, cw, ch


def _border_colour(arr: np.ndarray) -> tuple[int, int, int]:
    """Median colour of the outer strips: the picture's own background, to pad with."""
    band = max(1, min(arr.shape[:2]) // 50)
    strips = np.concatenate(
        [
            arr[:band].reshape(-1, 3),
            arr[:, :band].reshape(-1, 3),
            arr[:, -band:].reshape(-1, 3),
        ]
    )
    med = np.median(strips, axis=0)
    return int(med[0]), int(med[1]), int(med[2])


def _render(
    rgb: Image.Image,
    box: tuple[float, float, float, float],
    spec: PhotoSpec,
    pad: tuple[int, int, int],
) -> Image.Image:
    """Crop `box` to spec size; the part outside the picture becomes `pad`."""
    left, top, cw, ch = box
    sx, sy = spec.width / cw, spec.height / ch
    inside = (
        max(0.0, left),
        max(0.0, top),
        min(float(rgb.width), left + cw),
        min(float(rgb.height), top + ch),
    )
    out = Image.new("RGB", (spec.width, spec.height), pad)
    if inside[2] <= inside[0] or inside[3] <= inside[1]:
        return out
    dx0, dy0 = round((inside[0] - left) * sx), round((inside[1] - top) * sy)
    dx1, dy1 = round((inside[2] - left) * sx), round((inside[3] - top) * sy)
    if dx1 > dx0 and dy1 > dy0:
        src = np.asarray(rgb)[
            int(inside[1]) : int(np.ceil(inside[3])), int(inside[0]) : int(np.ceil(inside[2]))
        ]
        size = (dx1 - dx0, dy1 - dy0)
        # Area averaging is the right filter for shrinking (no moiré, 5× faster than
        # Pillow's Lanczos here); Lanczos when a small source has to be enlarged.
        shrink = size[0] <= src.shape[1]
        part = cv2.resize(src, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LANCZOS4)
        out.paste(Image.fromarray(part, "RGB"), (dx0, dy0))
    return out


def _to_srgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    """Phones tag Display P3; dropping the profile without converting shifts the colours."""
    if not icc:
        return img
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(
            img, src, ImageCms.createProfile("sRGB"), outputMode="RGB"
        )
    except (ImageCms.PyCMSError, OSError, TypeError, ValueError):
        return img  # a broken profile: keep the pixels as they are
    return converted if converted is not None else img


def _encode(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    # A fresh image carries no info, so no EXIF/ICC/XMP/comment is written; optimize=True
    # optimises the Huffman tables and stays baseline (SOF0); progressive stays off.
    img.save(buf, "JPEG", quality=quality, optimize=True, progressive=False, subsampling="4:2:0")
    return buf.getvalue()


def _search_quality(img: Image.Image, max_bytes: int) -> tuple[bytes, int]:
    """The largest quality in [QUALITY_MIN, QUALITY_MAX] whose file fits; ~6 encodes."""
    best: tuple[bytes, int] | None = None
    lo, hi = QUALITY_MIN, QUALITY_MAX
    while lo <= hi:
        q = (lo + hi) // 2
        data = _encode(img, q)
        if len(data) <= max_bytes:
            best = (data, q)
            lo = q + 1
        else:
            hi = q - 1
    if best is None:
        raise PhotoRejected(
            MSG_TOO_BIG_ENCODED.format(limit=_kb(max_bytes)), code="too_big_encoded"
        )
    return best


def _background_ok(arr: np.ndarray) -> bool:
    """Light blue in the top strip and the upper side strips (above the shoulders)."""
    h, w = arr.shape[:2]
    bh, bw = max(1, h // 12), max(1, w // 12)
    strips = np.concatenate(
        [
            arr[:bh].reshape(-1, 3),
            arr[: h // 2, :bw].reshape(-1, 3),
            arr[: h // 2, -bw:].reshape(-1, 3),
        ]
    )
    hsv = cv2.cvtColor(strips.reshape(1, -1, 3), cv2.COLOR_RGB2HSV).reshape(-1, 3)
    hue, sat, val = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    blue = (
        (hue >= BLUE_HUE[0])
        & (hue <= BLUE_HUE[1])
        & (sat >= BLUE_SAT[0])
        & (sat <= BLUE_SAT[1])
        & (val >= BLUE_VAL_MIN)
    )
    return float(blue.mean()) >= BLUE_SHARE


def _checks(
    out: Image.Image,
    face_out: tuple[int, int, int, int] | None,
    faces: int,
) -> list[PhotoWarning]:
    arr = np.asarray(out)
    found: list[PhotoWarning] = []
    if not _background_ok(arr):
        found.append(PhotoWarning("background", W_BACKGROUND))
    if faces == 0:
        found.append(PhotoWarning("no_face", W_NO_FACE))
    elif faces > 1:
        found.append(PhotoWarning("many_faces", W_MANY_FACES.format(n=faces)))
    grey = cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY)
    region = grey
    if face_out is not None:
        x, y, w, h = face_out
        x0, y0 = max(0, x), max(0, y)
        sub = grey[y0 : y + h, x0 : x + w]
        if sub.size > 100:
            region = sub
    if float(region.mean()) < DARK_MEAN:
        found.append(PhotoWarning("dark", W_DARK))
    elif face_out is not None and _sharpness(region) < BLUR_VAR:
        # Only on a face: a dark picture has a low variance anyway, and a background
        # alone is meant to be flat.
        found.append(PhotoWarning("blurred", W_BLURRED))
    return found


def _sharpness(region: np.ndarray) -> float:
    lo, hi = np.percentile(region, (2, 98))
    stretched = (region.astype(np.float64) - lo) * (255.0 / max(1.0, float(hi - lo)))
    return float(cv2.Laplacian(stretched, cv2.CV_64F).var())


def normalise(data: bytes, *, spec: PhotoSpec | None = None) -> Normalised:
    """The national file from an upload; raises PhotoRejected only for unusable bytes."""
    spec = spec or DEFAULT_SPEC
    img = _open(data, spec)
    source_format = img.format or "?"
    full = img.size
    rgb, icc = _decode(img, spec)
    # Source size after rotation, at full resolution (draft() may have decoded less).
    turned = (rgb.width >= rgb.height) != (full[0] >= full[1])
    source_size = (full[1], full[0]) if turned else full
    ratio = max(full) / max(rgb.size)
    boxes, _ = _faces(rgb)
    face = boxes[0] if boxes else None
    box = _crop_box(rgb.size, face, spec)
    if ratio > 1 and box[2] < spec.width:
        # The head is a small part of a big JPEG: the draft is too coarse for it, so
        # decode again at the resolution this crop needs (rare: distant faces). The hint
        # asks for a whole picture rgb.width / box[2] times the output, which puts the
        # crop at about the output's width.
        rgb2, icc = _decode(_open(data, spec), spec, scale_hint=rgb.width / box[2])
        k = rgb2.width / rgb.width
        rgb = rgb2
        box = (box[0] * k, box[1] * k, box[2] * k, box[3] * k)
        if face is not None:
            face = (face[0] * k, face[1] * k, face[2] * k, face[3] * k)
        ratio = max(full) / max(rgb.size)
    out = _render(rgb, box, spec, _border_colour(np.asarray(rgb)))
    out = _to_srgb(out, icc)
    face_out: tuple[int, int, int, int] | None = None
    if face is not None:
        s = spec.width / box[2]
        face_out = (
            round((face[0] - box[0]) * s),
            round((face[1] - box[1]) * s),
            round(face[2] * s),
            round(face[3] * s),
        )
    warns = _checks(out, face_out, len(boxes))
    if box[2] * ratio < spec.width * 0.9 or min(source_size) < min(spec.width, spec.height):
        warns.append(PhotoWarning("small", W_SMALL.format(w=source_size[0], h=source_size[1])))
    # Built fresh from the pixels: nothing of the upload's metadata can come along.
    clean = Image.frombytes("RGB", out.size, out.tobytes())
    jpeg, quality = _search_quality(clean, spec.max_bytes)
    return Normalised(
        jpeg=jpeg,
        quality=quality,
        warnings=tuple(warns),
        faces=len(boxes),
        source_format=source_format,
        source_size=source_size,
    )


def check_national(data: bytes, *, spec: PhotoSpec | None = None) -> list[PhotoWarning]:
    """What keeps a file that claims to be national already from being one: format, pixel
    size, bytes. Empty when it can be stored as is. Unusable bytes raise PhotoRejected."""
    spec = spec or DEFAULT_SPEC
    img = _open(data, spec)
    found: list[PhotoWarning] = []
    fmt = img.format or "?"
    if fmt != "JPEG" or not data.startswith(b"\xff\xd8\xff"):
        found.append(PhotoWarning("format", W_FORMAT.format(fmt=_format_label(fmt))))
    if img.size != (spec.width, spec.height):
        found.append(
            PhotoWarning(
                "dimensions", W_SIZE.format(w=img.width, h=img.height, W=spec.width, H=spec.height)
            )
        )
    if len(data) > spec.max_bytes:
        found.append(
            PhotoWarning("bytes", W_BYTES.format(size=_kb(len(data)), limit=_kb(spec.max_bytes)))
        )
    try:
        img.load()
    except (OSError, ValueError, SyntaxError) as exc:
        raise PhotoRejected(MSG_BROKEN, code="broken") from exc
    return found


def _format_label(fmt: str) -> str:
    labels: dict[str, Any] = {"HEIF": "HEIC", "MPO": "JPEG", "TIFF": "TIFF", "PNG": "PNG"}
    return str(labels.get(fmt, fmt))
