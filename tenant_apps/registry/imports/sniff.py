"""`upload_sniff`: checks an upload as untrusted input (size, extension, magic bytes,
password, ZIP bomb) before any parser sees it."""

from __future__ import annotations

import codecs
import io
import struct
import zipfile
from dataclasses import dataclass

from tenant_apps.registry.imports.columns import (
    MAX_UPLOAD_BYTES,
    MSG_CORRUPT,
    MSG_CSV_BINARY,
    MSG_CSV_ENCODING,
    MSG_CSV_NUL,
    MSG_CSV_UTF16,
    MSG_DISGUISED,
    MSG_EMPTY,
    MSG_ENCRYPTED,
    MSG_EXTENSION,
    MSG_HTML,
    MSG_ODS,
    MSG_WORKBOOK_AS_CSV,
    MSG_XLS_AS_XLSX,
    MSG_XLSB,
    MSG_XLSX_AS_XLS,
    MSG_ZIP_BOMB,
    ZIP_MAX_ENTRIES,
    ZIP_MAX_RATIO,
    ZIP_MAX_UNCOMPRESSED,
    ZIP_RATIO_FLOOR,
    Format,
    UploadRejected,
)

_ZIP_MAGIC = b"PK\x03\x04"
_CFB_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
# Binary signatures that cannot start a text file. Short ones such as "MZ" or "BM" are left
# out: a CSV may start with those letters, and real binaries fail the NUL check anyway.
_BINARY_MAGIC: tuple[bytes, ...] = (
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"%PDF",
    b"\x7fELF",
    b"Rar!",
    b"7z\xbc\xaf",
    b"\x1f\x8b",  # gzip
    b"PK\x05\x06",  # empty ZIP
)
_ENCRYPTION_STREAMS = frozenset({"EncryptionInfo", "EncryptedPackage"})
_CFB_MAX_SECTOR = 0xFFFFFFFA
_CFB_END = 0xFFFFFFFE


@dataclass(frozen=True)
class _CfbEntry:
    name: str
    kind: int  # 1 storage, 2 stream, 5 root
    start: int
    size: int


def _cfb_directory(data: bytes) -> tuple[int, list[_CfbEntry]] | None:
    """The directory entries of a compound file (MS-CFB), or None when it is malformed.

    Only the FAT and the directory chain are read, so this costs a few kilobytes of work
    even for a 20 MB file. Every chain walk is bounded so a crafted file cannot loop.
    """
    if len(data) < 512 or data[:8] != _CFB_MAGIC:
        return None
    shift = struct.unpack_from("<H", data, 30)[0]
    if shift not in (9, 12):
        return None
    size = 1 << shift
    n_sectors = (len(data) - 1) // size  # sectors after the header, the last one may be short
    n_fat, dir_start = struct.unpack_from("<II", data, 44)
    difat_start, n_difat = struct.unpack_from("<II", data, 68)

    def sector(sid: int) -> bytes | None:
        if sid > _CFB_MAX_SECTOR or sid >= n_sectors:
            return None
        chunk = data[(sid + 1) * size : (sid + 2) * size]
        return chunk + b"\0" * (size - len(chunk))  # type: ignore[no-any-return]

    fat_sids = list(struct.unpack_from("<109I", data, 76))
    sid, hops = difat_start, 0
    while sid <= _CFB_MAX_SECTOR and hops < n_difat and hops < n_sectors:
        chunk = sector(sid)
        if chunk is None:
            return None
        values = struct.unpack(f"<{size // 4}I", chunk)
        fat_sids.extend(values[:-1])
        sid, hops = values[-1], hops + 1
    fat: list[int] = []
    for fat_sid in [s for s in fat_sids if s <= _CFB_MAX_SECTOR][:n_fat]:
        chunk = sector(fat_sid)
        if chunk is None:
            return None
        fat.extend(struct.unpack(f"<{size // 4}I", chunk))

    entries: list[_CfbEntry] = []
    sid, seen = dir_start, set[int]()
    while sid <= _CFB_MAX_SECTOR and sid not in seen and len(seen) < n_sectors:
        seen.add(sid)
        chunk = sector(sid)
        if chunk is None:
            return None
        for off in range(0, size, 128):
            name_len = struct.unpack_from("<H", chunk, off + 64)[0]
            kind = chunk[off + 66]
            if kind == 0 or not 2 <= name_len <= 64:
                continue
            name = chunk[off : off + name_len - 2].decode("utf-16-le", errors="replace")
            start, length = struct.unpack_from("<IQ", chunk, off + 116)
            if size == 512:
                length &= 0xFFFFFFFF  # version 3 files may leave garbage in the high half
            entries.append(_CfbEntry(name=name, kind=kind, start=start, size=length))
        sid = fat[sid] if sid < len(fat) else _CFB_END
    return size, entries


def _biff_has_filepass(data: bytes, sector_size: int, stream: _CfbEntry) -> bool:
    """True when an .xls Workbook stream starts with BOF + FILEPASS (an encrypted workbook).

    MS-XLS puts FILEPASS right after the first BOF, so the stream's first sector suffices.
    Streams under 4096 bytes live in the mini stream and are not looked at: no real encrypted
    workbook is that small, and such a file is refused later as unreadable anyway.
    """
    if stream.size < 4096 or stream.start > _CFB_MAX_SECTOR:
        return False
    offset = (stream.start + 1) * sector_size
    head = data[offset : offset + sector_size]
    if len(head) < 8:
        return False
    rec_type, rec_len = struct.unpack_from("<HH", head, 0)
    if rec_type != 0x0809 or 4 + rec_len + 4 > len(head):
        return False
    return struct.unpack_from("<H", head, 4 + rec_len)[0] == 0x002F  # type: ignore[no-any-return]


def _cfb_encrypted(data: bytes) -> bool:
    """True for a compound file holding an encrypted workbook: an encrypted .xlsx (the OOXML
    package inside EncryptionInfo/EncryptedPackage streams) or an .xls with FILEPASS."""
    directory = _cfb_directory(data)
    if directory is None:
        return False
    sector_size, entries = directory
    if any(e.name in _ENCRYPTION_STREAMS for e in entries):
        return True
    books = [e for e in entries if e.name in ("Workbook", "Book") and e.kind == 2]
    return any(_biff_has_filepass(data, sector_size, book) for book in books)


def _sniff_cfb(data: bytes, ext: str) -> Format:
    directory = _cfb_directory(data)
    if directory is None:
        raise UploadRejected(MSG_CORRUPT)
    if _cfb_encrypted(data):
        raise UploadRejected(MSG_ENCRYPTED)
    if not any(e.name in ("Workbook", "Book") and e.kind == 2 for e in directory[1]):
        raise UploadRejected(MSG_DISGUISED)
    if ext != ".xls":
        raise UploadRejected(MSG_XLS_AS_XLSX)
    return "xls"


def zip_sizes_refused(*, uncompressed: int, compressed: int) -> bool:
    """Whether an archive of these total sizes (bytes) looks like a ZIP bomb."""
    if uncompressed > ZIP_MAX_UNCOMPRESSED:
        return True
    return uncompressed > ZIP_RATIO_FLOOR and uncompressed > ZIP_MAX_RATIO * max(compressed, 1)


def _sniff_zip(data: bytes, ext: str) -> Format:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise UploadRejected(MSG_CORRUPT) from None
    if len(infos) > ZIP_MAX_ENTRIES:
        raise UploadRejected(MSG_ZIP_BOMB)
    # Declared sizes only: calamine and openpyxl read members through the same central
    # directory, and Python's zipfile stops at the declared size, so a lying header cannot
    # inflate past what is checked here.
    uncompressed = sum(i.file_size for i in infos)
    # The declared compressed sizes are the archive's word too: the file cannot hold more
    # compressed bytes than its own length, so a header that inflates them to pass the
    # ratio test is caught by that.
    compressed = min(sum(i.compress_size for i in infos), len(data))
    if zip_sizes_refused(uncompressed=uncompressed, compressed=compressed):
        raise UploadRejected(MSG_ZIP_BOMB)
    if any(i.flag_bits & 0x1 for i in infos):
        raise UploadRejected(MSG_ENCRYPTED)
    names = {i.filename for i in infos}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        if "xl/workbook.bin" in names:
            raise UploadRejected(MSG_XLSB)
        if "mimetype" in names and "content.xml" in names:
            raise UploadRejected(MSG_ODS)
        raise UploadRejected(MSG_DISGUISED)
    if ext != ".xlsx":
        raise UploadRejected(MSG_XLSX_AS_XLS)
    return "xlsx"


def _looks_like_markup(data: bytes) -> bool:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<", b"\xff\xfe<", b"\xfe\xff\x00<"))


def _csv_decode(data: bytes) -> str:
    """Text of a CSV upload: UTF-8 (BOM optional), else GB18030 (a superset of GBK)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UploadRejected(MSG_CSV_UTF16)
    if b"\x00" in data:
        raise UploadRejected(MSG_CSV_NUL)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if data.startswith(codecs.BOM_UTF8):
        # A GBK file behind a UTF-8 BOM (some converters add one to any text): read as
        # GB18030 with the BOM's bytes it would turn into "锘?" dropped.
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise UploadRejected(MSG_CSV_ENCODING) from None


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + "MB"
    return f"{size / 1024:.1f}".removesuffix(".0") + "KB"


def upload_sniff(*, name: str, data: bytes, max_bytes: int = MAX_UPLOAD_BYTES) -> Format:
    """The upload's format, or UploadRejected with a message for the user.

    Call this before `workbook_read`: it is what stands between untrusted bytes and the
    parsers (size cap, allow-list, magic bytes, encryption, ZIP bomb).
    """
    if not data:
        raise UploadRejected(MSG_EMPTY)
    if len(data) > max_bytes:
        raise UploadRejected(
            f"文件超过{_size_text(max_bytes)}，请删除多余的工作表、图片或空行后重新上传，"
            "或分成几个文件上传"
        )
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    ext = "." + base.rsplit(".", 1)[1].lower() if "." in base else ""
    if ext not in (".xlsx", ".xls", ".csv"):
        raise UploadRejected(MSG_EXTENSION.format(ext=ext or "无扩展名"))

    is_zip, is_cfb = data.startswith(_ZIP_MAGIC), data.startswith(_CFB_MAGIC)
    if ext == ".csv":
        if is_zip or is_cfb:
            raise UploadRejected(MSG_WORKBOOK_AS_CSV)
        if data.startswith(_BINARY_MAGIC):
            raise UploadRejected(MSG_CSV_BINARY)
        _csv_decode(data)
        return "csv"
    if is_zip:
        return _sniff_zip(data, ext)
    if is_cfb:
        return _sniff_cfb(data, ext)
    if _looks_like_markup(data):
        raise UploadRejected(MSG_HTML)
    raise UploadRejected(MSG_DISGUISED)
