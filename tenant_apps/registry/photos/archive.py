"""Safe reading of a photo ZIP and matching its files to the roster (issue 17 point 3,
domain §3.13).

Pure: a file object in, plain data out; the caller gives the roster as `Pupil` values.

Reading never trusts the archive: the declared sizes are checked first (entry count, total,
compression ratio), then every entry is read with a byte counter, so a header that lies
cannot make us inflate more than the limits. A bad archive as a whole (not a ZIP, encrypted,
a bomb, too many entries) raises PhotoRejected; a bad *entry* (unsafe path, nested archive,
not a picture, too large) comes back as an Entry with a `problem`, so the dry run can list
it and go on with the rest.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from tenant_apps.registry.photos.normalise import PhotoRejected, PhotoSpec

MAX_ENTRIES = 5000  # files in one archive: a large school's intake with room to spare
MAX_TOTAL_BYTES = 1024 * 1024 * 1024  # uncompressed, declared and counted
# Photos do not compress (JPEG, HEIC); a ratio above this is a bomb, not a picture.
MAX_RATIO = 100
CHUNK = 1024 * 1024
SNIFF = 512  # bytes _sniff looks at

MSG_NOT_ZIP = "这不是 ZIP 压缩包，或压缩包已损坏。请用“压缩为 ZIP”重新打包后上传。"
MSG_ENCRYPTED = "压缩包设置了密码，无法读取。请去掉密码后重新打包上传。"
MSG_TOO_MANY = "压缩包中有 {n} 个文件，超过一次 {limit} 个的上限。请按年级分批上传。"
MSG_TOO_BIG = "压缩包解压后超过 {limit}，请按年级或班级分批上传。"
MSG_BOMB = "压缩包中的“{path}”压缩比异常（{ratio} 倍），可能是恶意文件，已拒绝整个压缩包。"
MSG_BROKEN = "压缩包中的“{path}”已损坏，无法解压。请重新打包后上传。"

P_UNSAFE = "路径不安全"
P_NESTED = "嵌套压缩包"
P_NOT_IMAGE = "非图片文件"
P_TOO_LARGE = "文件过大"
P_EMPTY = "空文件"

JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini", ".localized"}
ARCHIVE_EXTENSIONS = (".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".cab", ".iso")


@dataclass(frozen=True)
class Entry:
    path: str
    folders: tuple[str, ...]
    stem: str
    data: bytes | None
    problem: str
    # The entry's position in the archive's listing (zipfile.ZipFile.infolist()), so that
    # a process that did not read the bytes (archive_entries(read=False)) can fetch them.
    member: int = -1


def _name(info: zipfile.ZipInfo) -> str:
    """The entry name as the user typed it. Without the UTF-8 flag (bit 11) zipfile
    decodes as CP437; Windows' built-in ZIP writes the ANSI code page, on Chinese Windows
    GBK, and some tools write UTF-8 without the flag: so undo CP437 and try both."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437")
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def _junk(parts: Sequence[str]) -> bool:
    return (
        any(p == "__MACOSX" for p in parts)
        or parts[-1].lower() in JUNK_NAMES
        or parts[-1].startswith("._")
    )


def _unsafe(name: str) -> bool:
    return (
        name.startswith(("/", "\\"))
        or bool(re.match(r"^[A-Za-z]:", name))
        or any(part in {"..", "."} for part in re.split(r"[/\\]", name))
        or "\0" in name
    )


def _sniff(head: bytes) -> str:
    """'image', 'archive' or '' from the first bytes; the extension is never believed."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"Rar!", b"7z\xbc\xaf\x27\x1c")):
        return "archive"
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00")) or head[257:262] == b"ustar":
        return "archive"
    if head.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")):
        return "image"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image"
    if head[4:8] == b"ftyp" and head[8:12] in {
        b"heic",
        b"heix",
        b"hevc",
        b"heim",
        b"heis",
        b"mif1",
        b"msf1",
        b"avif",
    }:
        return "image"
    return ""


def archive_entries(
    fileobj: IO[bytes],
    *,
    spec: PhotoSpec,
    max_entries: int = MAX_ENTRIES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    read: bool = True,
) -> list[Entry]:
    """Every file of the archive, in archive order, junk and folders left out.

    With `read=False` only each entry's first bytes are inflated (to tell images from
    the rest) and `data` stays None on every entry: the bytes are then fetched, with the
    same limits, by `entry_bytes` in whichever process normalises the file, so that the
    reading is spread over the cores with the work and the archive is never held in
    memory whole."""
    try:
        zf = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise PhotoRejected(MSG_NOT_ZIP, code="not_zip") from exc
    with zf:
        infos = zf.infolist()
        files = [i for i in infos if not i.is_dir()]
        if len(files) > max_entries:
            raise PhotoRejected(
                MSG_TOO_MANY.format(n=len(files), limit=max_entries), code="too_many"
            )
        if any(i.flag_bits & 0x1 for i in files):
            raise PhotoRejected(MSG_ENCRYPTED, code="encrypted")
        if sum(i.file_size for i in files) > max_total_bytes:
            raise PhotoRejected(MSG_TOO_BIG.format(limit=_size(max_total_bytes)), code="too_big")
        for info in files:
            if info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > CHUNK:
                raise PhotoRejected(
                    MSG_BOMB.format(
                        path=_name(info), ratio=info.file_size // max(info.compress_size, 1)
                    ),
                    code="bomb",
                )
        entries: list[Entry] = []
        total = 0
        members = {id(info): n for n, info in enumerate(infos)}
        for info in files:
            name = _name(info)
            parts = [p for p in re.split(r"[/\\]", name) if p]
            if not parts or _junk(parts):
                continue
            folders, filename = tuple(parts[:-1]), parts[-1]
            stem = filename.rsplit(".", 1)[0] if "." in filename[1:] else filename
            stem = unicodedata.normalize("NFKC", stem).strip()

            member = members[id(info)]

            def refused(
                problem: str,
                *,
                path: str = name,
                stem: str = stem,
                folders: tuple[str, ...] = folders,
                member: int = member,
            ) -> Entry:
                return Entry(
                    path=path, folders=folders, stem=stem, data=None, problem=problem, member=member
                )

            if _unsafe(name):
                entries.append(refused(P_UNSAFE))
                continue
            if filename.lower().endswith(ARCHIVE_EXTENSIONS):
                entries.append(refused(P_NESTED))
                continue
            if info.file_size > spec.max_upload_bytes:
                entries.append(refused(P_TOO_LARGE))
                continue
            data: bytes | None
            if read:
                data, total = _read(zf, info, name, spec.max_upload_bytes, total, max_total_bytes)
                if data is None:
                    entries.append(refused(P_TOO_LARGE))
                    continue
                head = data[:SNIFF]
            else:
                data, head = None, _head(zf, info, name)
            if not head:
                entries.append(refused(P_EMPTY))
                continue
            kind = _sniff(head)
            if kind == "archive":
                entries.append(refused(P_NESTED))
            elif kind != "image":
                entries.append(refused(P_NOT_IMAGE))
            else:
                entries.append(
                    Entry(
                        path=name, folders=folders, stem=stem, data=data, problem="", member=member
                    )
                )
        return entries


def entry_bytes(
    zf: zipfile.ZipFile, entry: Entry, *, spec: PhotoSpec, total: int, max_total_bytes: int
) -> tuple[bytes | None, int]:
    """The bytes of an entry listed by archive_entries(read=False): None past the upload
    limit; raises PhotoRejected for the whole archive as archive_entries would (a
    compression ratio or a total the header hid, a broken entry). `total` is what this
    process has inflated so far."""
    info = zf.infolist()[entry.member]
    return _read(zf, info, entry.path, spec.max_upload_bytes, total, max_total_bytes)


def _head(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    try:
        with zf.open(info) as stream:
            return stream.read(SNIFF)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise PhotoRejected(MSG_BROKEN.format(path=name), code="broken") from exc


def _read(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limit: int, total: int, max_total: int
) -> tuple[bytes | None, int]:
    """The entry's bytes, counted while inflating: None past `limit`; the whole archive
    refused past `max_total` or on a compression ratio the header hid.

    One read of at most `limit` + 1 bytes, whatever the header declares: the inflater
    stops there, so a lying header costs at most that much memory, and the file arrives
    as one bytes object (joining 1 MB chunks copied every gigabyte once more: 0.9 s a
    GB here). Reading to the end of the entry is also what makes zipfile check its CRC."""
    try:
        with zf.open(info) as stream:
            data = stream.read(limit + 1)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise PhotoRejected(MSG_BROKEN.format(path=name), code="broken") from exc
    size = len(data)
    total += size
    if total > max_total:
        raise PhotoRejected(MSG_TOO_BIG.format(limit=_size(max_total)), code="too_big")
    if size > MAX_RATIO * max(info.compress_size, 1) and size > CHUNK:
        raise PhotoRejected(
            MSG_BOMB.format(path=name, ratio=size // max(info.compress_size, 1)), code="bomb"
        )
    if size > limit:
        return None, total
    return data, total


def _size(n: int) -> str:
    return f"{n / (1024 * 1024 * 1024):.0f} GB" if n >= 1024**3 else f"{n / (1024 * 1024):.0f} MB"


# --- matching ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Pupil:
    key: str
    name: str
    id_number: str
    national_number: str
    grade: str
    class_name: str
    school_code: str
    class_no: str


@dataclass(frozen=True)
class Match:
    entry: Entry
    pupil: Pupil | None
    status: str
    reason: str
    by: str
    closest: tuple[str, ...]


ID_RE = re.compile(r"^\d{17}[\dX]$")
NATIONAL_RE = re.compile(r"^[GLJ]\d{10,18}[\dX]?$")
NO_ID_RE = re.compile(r"^(\d{10})_([^_]+)_(.+)$")  # 学校标识码_班号_姓名 (domain §3.13)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

R_REFUSED = "{problem}，未处理"
R_ID_UNKNOWN = "身份证号 {value} 不在本校名册中"
R_ID_CHECK = "身份证号 {value} 的校验位不对，可能输错了"
R_NATIONAL_UNKNOWN = "学籍号 {value} 不在本校名册中"
R_NO_ID_UNKNOWN = "按“学校标识码_班号_姓名”没有找到学生：{value}"
R_NO_ID_SCHOOL = "文件名中的学校标识码 {code} 不是本校的"
R_NAME_UNKNOWN = "名册中没有叫“{value}”的学生"
R_AMBIGUOUS = (
    "名册中有 {n} 名学生叫“{name}”（{classes}），请改用身份证号命名，或放进对应年级、班级的文件夹"
)
R_DUPLICATE = "同一名学生有 {n} 个文件：{paths}"
R_FOLDER_MISMATCH = "已按身份证号匹配；但文件夹“{folder}”与该生的年级班级（{klass}）不一致"
R_MATCHED_FOLDER = "同名学生按文件夹“{folder}”区分"

_CN_NUM = {
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}


def _num(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if text in _CN_NUM:
        return _CN_NUM[text]
    if len(text) == 2 and text[0] == "十" and text[1] in _CN_NUM:
        return 10 + _CN_NUM[text[1]]
    return None


_YEAR = re.compile(r"(20\d{2})\s*级")
_GRADE = re.compile(r"([一二三四五六七八九]|\d{1,2})\s*年级")
_GRADE_SECONDARY = re.compile(r"(初|高)\s*([一二三])")
_CLASS = re.compile(
    r"[(（]?\s*(\d{1,2}|十[一二三四五六七八九]?|[一二三四五六七八九十])\s*[)）]?\s*班"
)
_CLASS_NO = re.compile(r"(?<!\d)(\d{7})(?!\d)")


def _place(text: str) -> dict[str, int]:
    """Grade, entry year, class number and 7-digit class code found in a folder path or
    a pupil's grade/class: 一年级/1班, 2024级/(1)班, 一年级1班, 初一(3)班 ..."""
    text = unicodedata.normalize("NFKC", text)
    found: dict[str, int] = {}
    if m := _YEAR.search(text):
        found["year"] = int(m.group(1))
    if m := _GRADE.search(text):
        n = _num(m.group(1))
        if n is not None:
            found["grade"] = n
    elif m := _GRADE_SECONDARY.search(text):
        found["grade"] = (6 if m.group(1) == "初" else 9) + "一二三".index(m.group(2)) + 1
    if m := _CLASS.search(text):
        n = _num(m.group(1))
        if n is not None:
            found["class"] = n
    if m := _CLASS_NO.search(text):
        found["class_no"] = int(m.group(1))
    return found


def _pupil_place(p: Pupil) -> dict[str, int]:
    found = _place(f"{p.grade} {p.class_name}")
    if p.class_no.isdigit() and len(p.class_no) == 7:
        found["class_no"] = int(p.class_no)
    return found


def _fits(folder: dict[str, int], pupil: dict[str, int]) -> bool:
    """Nothing the folder says contradicts the pupil's grade and class."""
    return all(pupil.get(k) in (None, v) for k, v in folder.items())


def _id_checksum_ok(value: str) -> bool:
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == value[17]


def _klass(p: Pupil) -> str:
    return f"{p.grade}{p.class_name}"


def match_entries(entries: Sequence[Entry], roster: Sequence[Pupil]) -> list[Match]:
    """One Match per entry, in entry order; two files for one pupil are both duplicate."""
    by_id = {p.id_number.strip().upper(): p for p in roster if p.id_number.strip()}
    by_national = {
        p.national_number.strip().upper(): p for p in roster if p.national_number.strip()
    }
    by_name: dict[str, list[Pupil]] = defaultdict(list)
    for p in roster:
        by_name[_clean_name(p.name)].append(p)
    names = sorted(by_name)
    school_codes = {p.school_code for p in roster}

    matches = [_match_one(e, by_id, by_national, by_name, names, school_codes) for e in entries]

    per_pupil: dict[str, list[int]] = defaultdict(list)
    for i, m in enumerate(matches):
        if m.status == "matched" and m.pupil is not None:
            per_pupil[m.pupil.key].append(i)
    for indexes in per_pupil.values():
        if len(indexes) > 1:
            paths = "、".join(matches[i].entry.path for i in indexes)
            for i in indexes:
                m = matches[i]
                matches[i] = Match(
                    entry=m.entry,
                    pupil=m.pupil,
                    status="duplicate",
                    reason=R_DUPLICATE.format(n=len(indexes), paths=paths),
                    by=m.by,
                    closest=(),
                )
    return matches


def _clean_name(name: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name))


def _match_one(
    entry: Entry,
    by_id: dict[str, Pupil],
    by_national: dict[str, Pupil],
    by_name: dict[str, list[Pupil]],
    names: list[str],
    school_codes: set[str],
) -> Match:
    def result(
        status: str,
        reason: str,
        by: str = "",
        pupil: Pupil | None = None,
        closest: Sequence[str] = (),
    ) -> Match:
        return Match(
            entry=entry, pupil=pupil, status=status, reason=reason, by=by, closest=tuple(closest)
        )

    if entry.problem:
        return result("refused", R_REFUSED.format(problem=entry.problem))
    stem = _clean_name(entry.stem)
    upper = stem.upper()
    folder_text = "/".join(entry.folders)
    folder = _place(folder_text)

    if ID_RE.match(upper):
        pupil = by_id.get(upper)
        if pupil is None:
            reason = R_ID_UNKNOWN if _id_checksum_ok(upper) else R_ID_CHECK
            near = difflib.get_close_matches(upper, list(by_id), n=3, cutoff=0.9)
            return result(
                "unmatched",
                reason.format(value=upper),
                "id_number",
                closest=[by_id[n].name for n in near],
            )
        reason = ""
        if folder and not _fits(folder, _pupil_place(pupil)):
            # Never refuse an ID-number match for a folder: only say so.
            reason = R_FOLDER_MISMATCH.format(folder=folder_text, klass=_klass(pupil))
        return result("matched", reason, "id_number", pupil)

    if NATIONAL_RE.match(upper):
        pupil = by_national.get(upper)
        if pupil is None:
            near = difflib.get_close_matches(upper, list(by_national), n=3, cutoff=0.9)
            return result(
                "unmatched",
                R_NATIONAL_UNKNOWN.format(value=upper),
                "national_number",
                closest=[by_national[n].name for n in near],
            )
        return result("matched", "", "national_number", pupil)

    if m := NO_ID_RE.match(stem):
        code, class_no, name = m.group(1), m.group(2), _clean_name(m.group(3))
        if code not in school_codes:
            return result("unmatched", R_NO_ID_SCHOOL.format(code=code), "school_class_name")
        hits = [
            p
            for p in by_name.get(name, [])
            if p.school_code == code and _same_class_no(p.class_no, class_no)
        ]
        if len(hits) == 1:
            return result("matched", "", "school_class_name", hits[0])
        if len(hits) > 1:
            return _ambiguous(entry, name, hits, "school_class_name")
        return result(
            "unmatched",
            R_NO_ID_UNKNOWN.format(value=entry.stem),
            "school_class_name",
            closest=difflib.get_close_matches(name, names, n=3, cutoff=0.5),
        )

    candidates = by_name.get(stem, [])
    if len(candidates) == 1:
        return result("matched", "", "name", candidates[0])
    if len(candidates) > 1:
        if folder:
            fitting = [p for p in candidates if _fits(folder, _pupil_place(p))]
            if len(fitting) == 1:
                return result(
                    "matched", R_MATCHED_FOLDER.format(folder=folder_text), "name", fitting[0]
                )
            if fitting:
                candidates = fitting
        return _ambiguous(entry, stem, candidates, "name")
    return result(
        "unmatched",
        R_NAME_UNKNOWN.format(value=stem),
        "name",
        closest=difflib.get_close_matches(stem, names, n=3, cutoff=0.5),
    )


def _same_class_no(a: str, b: str) -> bool:
    a, b = a.strip(), b.strip()
    return a == b or (a.isdigit() and b.isdigit() and int(a) == int(b))


def _ambiguous(entry: Entry, name: str, pupils: Sequence[Pupil], by: str) -> Match:
    classes = "、".join(sorted({_klass(p) for p in pupils}))
    return Match(
        entry=entry,
        pupil=None,
        status="ambiguous",
        reason=R_AMBIGUOUS.format(n=len(pupils), name=name, classes=classes),
        by=by,
        closest=tuple(p.name for p in pupils),
    )
