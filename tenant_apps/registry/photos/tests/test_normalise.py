"""The national photo file from every kind of upload (issue 17 points 2 and 8), on drawn
pictures only. Plain pytest: no database."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter

from tenant_apps.registry.photos import normalise as N
from tenant_apps.registry.photos.normalise import (
    PhotoRejected,
    PhotoSpec,
    check_national,
    normalise,
)
from tenant_apps.registry.photos.tests import images as I

SPEC = N.DEFAULT_SPEC


def codes(result: N.Normalised) -> set[str]:
    return {w.code for w in result.warnings}


def decoded(result: N.Normalised) -> Image.Image:
    img = Image.open(io.BytesIO(result.jpeg))
    img.load()
    return img


def markers(jpeg: bytes) -> list[int]:
    """The JPEG segment markers up to the scan."""
    found, i = [], 2
    while i < len(jpeg) - 4:
        assert jpeg[i] == 0xFF
        marker = jpeg[i + 1]
        found.append(marker)
        if marker == 0xDA:
            break
        (length,) = struct.unpack(">H", jpeg[i + 2 : i + 4])
        i += 2 + length
    return found


def assert_national(result: N.Normalised, spec: PhotoSpec = SPEC) -> None:
    img = decoded(result)
    assert img.format == "JPEG"
    assert img.size == (spec.width, spec.height)
    assert img.mode == "RGB"
    assert len(result.jpeg) <= spec.max_bytes
    assert N.QUALITY_MIN <= result.quality <= N.QUALITY_MAX
    seen = markers(result.jpeg)
    assert 0xC0 in seen  # SOF0: baseline
    assert 0xC2 not in seen  # SOF2 would be progressive
    assert 0xE1 not in seen  # APP1: EXIF / XMP
    assert 0xE2 not in seen  # APP2: ICC profile
    assert 0xFE not in seen  # COM
    assert check_national(result.jpeg, spec=spec) == []


def test_drawn_face_is_detected_at_every_size() -> None:
    # The premise of the face tests below: the bundled cascade finds the drawn face.
    for size in [(300, 400), (600, 800), (1200, 1600), (3000, 4000)]:
        grey = cv2.cvtColor(np.asarray(I.portrait(size)), cv2.COLOR_RGB2GRAY)
        found = N._cascade().detectMultiScale(grey, 1.1, 5, minSize=(size[0] // 10, size[0] // 10))
        assert len(found) == 1, size


def _cmyk() -> bytes:
    return I.encode(I.portrait((900, 1200)).convert("CMYK"))


def _png16() -> bytes:
    grey = np.asarray(I.portrait((600, 800)).convert("L")).astype(np.uint16) * 257
    return I.encode(Image.fromarray(grey), "PNG")


def _rgba() -> bytes:
    img = I.portrait((600, 800)).convert("RGBA")
    img.putalpha(255)
    return I.encode(img, "PNG")


KINDS = {
    "phone_jpeg": (lambda: I.phone_jpeg(), "JPEG"),
    "png": (lambda: I.encode(I.portrait((900, 1200)), "PNG"), "PNG"),
    "heic": (lambda: I.encode(I.portrait((900, 1200)), "HEIF"), "HEIF"),
    "webp": (lambda: I.encode(I.portrait((900, 1200)), "WEBP"), "WEBP"),
    "rgba_png": (_rgba, "PNG"),
    "greyscale": (lambda: I.encode(I.portrait((900, 1200)).convert("L")), "JPEG"),
    "cmyk_jpeg": (_cmyk, "JPEG"),
    "png_16bit": (_png16, "PNG"),
    "palette_gif": (lambda: I.encode(I.portrait((600, 800)).convert("P"), "GIF"), "GIF"),
    "tiny": (lambda: I.encode(I.portrait((120, 160))), "JPEG"),
    "huge_6000x8000": (lambda: I.encode(I.portrait((6000, 8000)), quality=70), "JPEG"),
    "landscape": (lambda: I.encode(I.portrait((1600, 900), faces=((0.5, 0.45, 0.18),))), "JPEG"),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_input_kind_gives_the_national_file(kind: str) -> None:
    make, fmt = KINDS[kind]
    result = normalise(make())
    assert_national(result)
    assert result.source_format == fmt
    assert result.faces == 1, kind


def test_distant_face_in_a_big_jpeg_is_decoded_finer_not_enlarged() -> None:
    # Head about a tenth of the width: the 2× draft would leave the crop narrower than
    # the output; the second, finer decode keeps it sharp, so no "small" warning.
    data = I.encode(I.portrait((3000, 4000), faces=((0.5, 0.4, 0.1),)), quality=85)
    result = normalise(data)
    assert result.faces == 1
    assert result.source_size == (3000, 4000)
    assert "small" not in codes(result)
    assert "blurred" not in codes(result)
    assert_national(result)


def test_tiny_source_warns_small_and_big_one_does_not() -> None:
    tiny = normalise(I.encode(I.portrait((120, 160))))
    assert "small" in codes(tiny)
    assert tiny.source_size == (120, 160)
    assert "small" not in codes(normalise(I.phone_jpeg()))


def test_noisy_picture_still_fits_the_byte_limit_by_lowering_quality() -> None:
    rng = np.random.default_rng(17)
    noise = rng.integers(0, 256, size=(800, 600, 3), dtype=np.uint8)
    result = normalise(I.encode(Image.fromarray(noise, "RGB"), quality=95))
    assert_national(result)
    assert result.quality < N.QUALITY_MAX  # the search had to go down


def test_quality_search_is_the_largest_that_fits() -> None:
    noise = np.random.default_rng(3).integers(0, 256, (441, 358, 3), dtype=np.uint8)
    img = Image.fromarray(noise, "RGB").filter(ImageFilter.GaussianBlur(1))
    limit = 40 * 1024
    data, q = N._search_quality(img, limit)
    assert len(data) <= limit
    assert len(N._encode(img, q + 1)) > limit


def test_smaller_byte_limit_and_other_size_from_the_spec() -> None:
    spec = PhotoSpec(
        width=260, height=320, max_bytes=12_000, max_upload_bytes=10**7, max_pixels=10**8
    )
    result = normalise(I.phone_jpeg(), spec=spec)
    assert_national(result, spec)


def test_impossible_byte_limit_is_refused() -> None:
    spec = PhotoSpec(width=358, height=441, max_bytes=300, max_upload_bytes=10**7, max_pixels=10**8)
    with pytest.raises(PhotoRejected) as exc:
        normalise(I.phone_jpeg(size=(600, 800)), spec=spec)
    assert exc.value.code == "too_big_encoded"
    assert "最低质量" in exc.value.message


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_exif_orientation_gives_an_upright_result(orientation: int) -> None:
    data = I.phone_jpeg(orientation, size=(1200, 1600))
    stored = Image.open(io.BytesIO(data))
    assert stored.size == ((1600, 1200) if orientation in {6, 8} else (1200, 1600))
    result = normalise(data)
    assert result.source_size == (1200, 1600)
    assert result.faces == 1
    assert_national(result)
    # The red marker was drawn top-left of the upright picture, outside the crop; the
    # face proves "up": hair (dark) above the eyes above the chin, brows in the upper half.
    arr = np.asarray(decoded(result).convert("L")).astype(int)
    rows = arr[:, 150:210].mean(axis=1)
    hair_row = int(np.argmin(rows[: SPEC.height // 2]))
    assert hair_row < SPEC.height * 0.45
    # Flipped, the shoulders (dark blue) would be at the top: the top rows are background.
    assert arr[:20].mean() > 150


def test_exif_orientation_keeps_the_marker_side() -> None:
    # A wide crop (no face) keeps the top-left marker: it must stay top-left.
    for orientation in (3, 6, 8):
        img = Image.new("RGB", (900, 1200), I.LIGHT_BLUE)
        img.paste(I.MARKER, (0, 0, 200, 200))
        result = normalise(I.encode(img, orientation=orientation))
        arr = np.asarray(decoded(result))
        top_left = arr[:30, :30].mean(axis=(0, 1))
        bottom_right = arr[-30:, -30:].mean(axis=(0, 1))
        assert top_left[0] > 200, orientation
        assert top_left[2] < 80, orientation
        assert bottom_right[2] > 200, orientation


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_big_png_is_shrunk_once_and_still_turned_upright(mode: str) -> None:
    # A PNG decodes at full size and is shrunk before detection; an RGBA one is also
    # flattened onto white. Both make new images without the EXIF tag, which must still
    # turn the picture upright, and the marker must stay top-left.
    img = Image.new("RGB", (2400, 3200), I.LIGHT_BLUE)
    img.paste(I.MARKER, (0, 0, 500, 500))
    result = normalise(I.encode(img.convert(mode), "PNG", orientation=6))
    assert result.source_format == "PNG"
    assert result.source_size == (2400, 3200)
    assert "small" not in codes(result)
    arr = np.asarray(decoded(result))
    assert arr[:30, :30].mean(axis=(0, 1))[0] > 200
    assert arr[-30:, -30:].mean(axis=(0, 1))[2] > 200


def test_head_is_centred_and_large() -> None:
    result = normalise(I.phone_jpeg())
    grey = np.asarray(decoded(result).convert("L")).astype(int)
    hair_cols = np.where((grey < 60).sum(axis=0) > 5)[0]
    centre = (hair_cols.min() + hair_cols.max()) / 2
    assert abs(centre - SPEC.width / 2) < SPEC.width * 0.05
    hair_rows = np.where((grey < 60).sum(axis=1) > 5)[0]
    assert hair_rows.min() > SPEC.height * 0.05  # room above the head
    assert hair_rows.min() < SPEC.height * 0.35


def test_crop_off_the_frame_is_padded_with_the_border_colour() -> None:
    # Face at the very top-left edge: the crop leaves the frame, padding is light blue.
    img = I.portrait((1200, 1600), faces=((0.22, 0.2, 0.3),))
    result = normalise(I.encode(img))
    assert result.faces == 1
    arr = np.asarray(decoded(result)).astype(int)
    corner = arr[:10, :10].mean(axis=(0, 1))
    assert np.abs(corner - np.array(I.LIGHT_BLUE)).max() < 12
    assert "background" not in codes(result)


@pytest.mark.parametrize(
    ("background", "warned"),
    [
        (I.LIGHT_BLUE, False),
        ((67, 142, 219), False),
        (I.WHITE, True),
        (I.RED, True),
        ((200, 200, 200), True),
    ],
)
def test_background_warning(background: tuple[int, int, int], warned: bool) -> None:
    result = normalise(I.encode(I.portrait((1200, 1600), background=background)))
    assert result.faces == 1
    assert ("background" in codes(result)) is warned
    if warned:
        assert "淡蓝色" in next(w.message for w in result.warnings if w.code == "background")


def test_no_face_centre_crops_and_warns() -> None:
    img = Image.new("RGB", (1000, 1000), I.LIGHT_BLUE)
    result = normalise(I.encode(img))
    assert result.faces == 0
    assert codes(result) == {"no_face"}
    assert_national(result)


def test_two_faces_warn() -> None:
    img = I.portrait((1600, 1200), faces=((0.3, 0.45, 0.2), (0.7, 0.45, 0.2)))
    result = normalise(I.encode(img))
    assert result.faces == 2
    assert codes(result) == {"many_faces"}
    assert "2 张人脸" in next(w.message for w in result.warnings if w.code == "many_faces")


def test_good_photo_has_no_warning() -> None:
    result = normalise(I.phone_jpeg())
    assert result.warnings == ()
    assert result.faces == 1


def test_dark_photo_warns() -> None:
    dark = ImageEnhance.Brightness(I.portrait((1200, 1600))).enhance(0.25)
    assert "dark" in codes(normalise(I.encode(dark)))
    dim = ImageEnhance.Brightness(I.portrait((1200, 1600))).enhance(0.7)
    assert "dark" not in codes(normalise(I.encode(dim)))


def test_blurred_photo_warns_and_sharp_dim_one_does_not() -> None:
    base = I.portrait((1200, 1600))
    blurred = normalise(I.encode(base.filter(ImageFilter.GaussianBlur(8))))
    assert blurred.faces == 1
    assert "blurred" in codes(blurred)
    dim = normalise(I.encode(ImageEnhance.Brightness(base).enhance(0.6)))
    assert "blurred" not in codes(dim)


def test_metadata_is_stripped() -> None:
    data = I.phone_jpeg(6, size=(1200, 1600), gps=True)
    src = Image.open(io.BytesIO(data))
    assert src.getexif().get(0x8825) is not None  # the upload does carry GPS
    img = decoded(normalise(data))
    assert len(img.getexif()) == 0
    assert "icc_profile" not in img.info
    assert "exif" not in img.info


def test_icc_profile_is_applied_then_dropped() -> None:
    from PIL import ImageCms

    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = I.encode(I.portrait((900, 1200)), icc_profile=srgb)
    assert "icc_profile" in Image.open(io.BytesIO(data)).info
    result = normalise(data)
    assert "icc_profile" not in decoded(result).info
    assert result.warnings == ()


# --- refused uploads -------------------------------------------------------------------


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a huge size; its pixels are never there (nor needed)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("data", "code", "words"),
    [
        (b"", "empty", "空的"),
        (b"hello, this is not a picture" * 10, "not_image", "不是可识别的图片"),
        (b"%PDF-1.4\n" + b"0" * 500, "not_image", "JPEG、PNG 或 HEIC"),
        (_png_header_only(9_000, 9_000), "bomb", "9000 × 9000"),
        (_png_header_only(100_000, 100_000), "bomb", "远超 5000 万像素"),
    ],
)
def test_refused(data: bytes, code: str, words: str) -> None:
    with pytest.raises(PhotoRejected) as exc:
        normalise(data)
    assert exc.value.code == code
    assert words in exc.value.message


def test_jpeg_bomb_refused_from_the_header() -> None:
    # A real JPEG whose SOF declares 60000 × 60000: refused before any decoding.
    data = bytearray(I.encode(Image.new("RGB", (16, 16))))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 60000, 60000)
    with pytest.raises(PhotoRejected) as exc:
        normalise(bytes(data))
    assert exc.value.code == "bomb"


def test_oversized_upload_refused_before_reading() -> None:
    spec = PhotoSpec(
        width=358, height=441, max_bytes=61440, max_upload_bytes=100_000, max_pixels=10**8
    )
    with pytest.raises(PhotoRejected) as exc:
        normalise(b"\xff\xd8\xff" + b"\0" * 100_001, spec=spec)
    assert exc.value.code == "too_large"
    assert "不能超过 98 KB" in exc.value.message


def test_truncated_jpeg_refused() -> None:
    data = I.phone_jpeg(size=(1200, 1600))
    with pytest.raises(PhotoRejected) as exc:
        normalise(data[: len(data) // 2])
    assert exc.value.code == "broken"
    assert "不完整" in exc.value.message


def test_eps_is_not_opened() -> None:
    # Pillow could read EPS through Ghostscript: not a format we open.
    with pytest.raises(PhotoRejected) as exc:
        normalise(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\nshowpage\n")
    assert exc.value.code == "not_image"


# --- check_national ----------------------------------------------------------------------


def test_check_national() -> None:
    good = normalise(I.phone_jpeg(size=(1200, 1600))).jpeg
    assert check_national(good) == []
    png = I.encode(Image.new("RGB", (358, 441), I.LIGHT_BLUE), "PNG")
    assert [w.code for w in check_national(png)] == ["format"]
    wrong = I.encode(Image.new("RGB", (400, 500), I.LIGHT_BLUE))
    found = check_national(wrong)
    assert [w.code for w in found] == ["dimensions"]
    assert "400 × 500" in found[0].message
    assert "358 × 441" in found[0].message
    noisy = Image.fromarray(
        np.random.default_rng(1).integers(0, 256, (441, 358, 3), dtype=np.uint8), "RGB"
    )
    heavy = I.encode(noisy, quality=100)
    assert len(heavy) > SPEC.max_bytes
    assert [w.code for w in check_national(heavy)] == ["bytes"]
    with pytest.raises(PhotoRejected):
        check_national(b"not an image")
