"""Reading a photo ZIP safely and matching its files to the roster (issue 17 points 3 and
8). Archives are built in memory; plain pytest, no database."""

from __future__ import annotations

import io
import zipfile
from collections import Counter

import pytest

from tenant_apps.registry.photos import archive as A
from tenant_apps.registry.photos.archive import Entry, Pupil, archive_entries, match_entries
from tenant_apps.registry.photos.normalise import DEFAULT_SPEC, PhotoRejected
from tenant_apps.registry.photos.tests import images as I

JPEG = I.encode(I.portrait((120, 160)))
PNG = I.encode(I.portrait((120, 160)), "PNG")


def build(files: list[tuple[str, bytes]], *, gbk: bool = False) -> io.BytesIO:
    """A ZIP as Windows' built-in compressor makes it (`gbk`: names in GBK, no UTF-8
    flag), or as Python/macOS makes it (UTF-8 with the flag)."""
    buf = io.BytesIO()
    patches: list[tuple[bytes, bytes]] = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, (name, data) in enumerate(files):
            if gbk and not name.isascii():
                raw = name.encode("gbk")
                placeholder = f"~{n:04d}".encode().ljust(len(raw), b"_")
                patches.append((placeholder, raw))
                name = placeholder.decode()
            zf.writestr(name, data)
    out = buf.getvalue()
    for placeholder, raw in patches:
        out = out.replace(placeholder, raw)
    return io.BytesIO(out)


def read(files: list[tuple[str, bytes]], *, gbk: bool = False) -> list[Entry]:
    return archive_entries(build(files, gbk=gbk), spec=DEFAULT_SPEC)


def test_every_kind_of_bad_entry_counted_exactly() -> None:
    inner = build([("a.jpg", JPEG)]).getvalue()
    entries = read(
        [
            ("一年级/1班/110101201501011233.jpg", JPEG),
            ("一年级/1班/张三.png", PNG),
            ("一年级/2班/", b""),  # a folder
            ("../../etc/passwd.jpg", JPEG),
            ("/abs/李四.jpg", JPEG),
            ("C:/Windows/王五.jpg", JPEG),
            ("一年级/1班/..\\..\\evil.jpg", JPEG),
            ("一年级/照片.zip", inner),
            ("一年级/伪装.jpg", inner),  # a ZIP renamed .jpg: sniffed, not believed
            ("一年级/1班/说明.jpg", "这是一段文字，不是图片".encode()),
            ("一年级/1班/空.jpg", b""),
            ("__MACOSX/一年级/._张三.png", b"\0\5\26\7junk"),
            ("一年级/.DS_Store", b"\0\0\0\1Bud1"),
            ("一年级/1班/Thumbs.db", b"\xd0\xcf\x11\xe0"),
            ("一年级/1班/desktop.ini", b"[.ShellClassInfo]"),
        ]
    )
    problems = Counter(e.problem for e in entries)
    assert problems == {
        "": 2,
        A.P_UNSAFE: 4,
        A.P_NESTED: 2,
        A.P_NOT_IMAGE: 1,
        A.P_EMPTY: 1,
    }
    assert len(entries) == 10
    good = [e for e in entries if not e.problem]
    assert [(e.folders, e.stem) for e in good] == [
        (("一年级", "1班"), "110101201501011233"),
        (("一年级", "1班"), "张三"),
    ]
    assert good[0].data == JPEG
    assert all(e.data is None for e in entries if e.problem)


def test_gbk_names_from_windows_are_decoded() -> None:
    entries = read([("二年级/3班/欧阳娜娜.jpg", JPEG), ("flat.jpg", JPEG)], gbk=True)
    raw = zipfile.ZipFile(build([("二年级/3班/欧阳娜娜.jpg", JPEG)], gbk=True)).infolist()[0]
    assert not raw.flag_bits & 0x800  # really no UTF-8 flag: the GBK path is exercised
    assert [e.path for e in entries] == ["二年级/3班/欧阳娜娜.jpg", "flat.jpg"]
    assert entries[0].folders == ("二年级", "3班")
    assert entries[0].stem == "欧阳娜娜"
    assert entries[1].folders == ()


def test_utf8_names_with_the_flag() -> None:
    entries = read([("三年级/(1)班/张三.jpg", JPEG)])
    assert entries[0].path == "三年级/(1)班/张三.jpg"


def test_entry_over_the_upload_limit_is_refused_alone() -> None:
    spec = A.PhotoSpec(
        width=358, height=441, max_bytes=61440, max_upload_bytes=len(JPEG) - 1, max_pixels=10**8
    )
    entries = archive_entries(build([("a.jpg", JPEG), ("b.png", PNG[:100])]), spec=spec)
    assert [e.problem for e in entries] == [A.P_TOO_LARGE, ""]


def test_not_a_zip() -> None:
    with pytest.raises(PhotoRejected) as exc:
        archive_entries(io.BytesIO(b"Rar!\x1a\x07\x00 not a zip"), spec=DEFAULT_SPEC)
    assert exc.value.code == "not_zip"
    assert "ZIP" in exc.value.message


def test_zip_bomb_declared_ratio() -> None:
    bomb = build([("ok.jpg", JPEG), ("一年级/大.jpg", b"\0" * (50 * 1024 * 1024))])
    with pytest.raises(PhotoRejected) as exc:
        archive_entries(bomb, spec=DEFAULT_SPEC)
    assert exc.value.code == "bomb"
    assert "一年级/大.jpg" in exc.value.message


def test_zip_bomb_hidden_by_a_lying_header_is_stopped_while_reading() -> None:
    # The central directory claims 1 KB for 50 MB of zeros: the declared check passes,
    # the byte counter (or zipfile's own length/CRC check) stops it; nothing is returned.
    buf = build([("一年级/大.jpg", b"\0" * (50 * 1024 * 1024))]).getvalue()
    zf = zipfile.ZipFile(io.BytesIO(buf))
    info = zf.infolist()[0]
    real = info.file_size.to_bytes(4, "little")
    forged = buf.replace(real, (1024).to_bytes(4, "little"))
    assert forged != buf
    with pytest.raises(PhotoRejected) as exc:
        archive_entries(io.BytesIO(forged), spec=DEFAULT_SPEC)
    assert exc.value.code in {"bomb", "broken"}


def test_total_size_counted() -> None:
    files = [(f"{i}.jpg", JPEG) for i in range(5)]
    with pytest.raises(PhotoRejected) as exc:
        archive_entries(build(files), spec=DEFAULT_SPEC, max_total_bytes=len(JPEG) * 4)
    assert exc.value.code == "too_big"


def test_too_many_entries() -> None:
    files = [(f"{i}.jpg", JPEG) for i in range(6)]
    with pytest.raises(PhotoRejected) as exc:
        archive_entries(build(files), spec=DEFAULT_SPEC, max_entries=5)
    assert exc.value.code == "too_many"
    assert "6 个文件" in exc.value.message


def test_encrypted() -> None:
    data = bytearray(build([("a.jpg", JPEG)]).getvalue())
    # Set the "encrypted" bit in the local header and the central directory entry.
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    data[local + 6] |= 1
    data[central + 8] |= 1
    with pytest.raises(PhotoRejected) as exc:
        archive_entries(io.BytesIO(bytes(data)), spec=DEFAULT_SPEC)
    assert exc.value.code == "encrypted"


# --- matching ----------------------------------------------------------------------------

SCHOOL = "1234567890"


def pupil(
    key: str,
    name: str,
    id_number: str = "",
    national: str = "",
    grade: str = "一年级",
    klass: str = "(1)班",
    class_no: str = "01",
) -> Pupil:
    return Pupil(
        key=key,
        name=name,
        id_number=id_number,
        national_number=national,
        grade=grade,
        class_name=klass,
        school_code=SCHOOL,
        class_no=class_no,
    )


ROSTER = [
    pupil("1", "张三", "11010120150101109X", "G11010120150101109X"),
    pupil("2", "李四", "110101201502021230", "G110101201502021230"),
    pupil("3", "王芳", "", "L2024000000000001", grade="二年级", klass="(1)班"),
    pupil("4", "王芳", "110101201403031230", "", grade="二年级", klass="(2)班", class_no="02"),
    pupil("5", "赵六", "", "J2024000000000009", grade="一年级", klass="(2)班", class_no="02"),
    pupil("6", "欧阳娜娜", "110101201504041235", ""),
]


def entry(stem: str, folders: tuple[str, ...] = (), problem: str = "") -> Entry:
    path = "/".join((*folders, f"{stem}.jpg"))
    return Entry(
        path=path, folders=folders, stem=stem, data=None if problem else JPEG, problem=problem
    )


def one(e: Entry) -> A.Match:
    (m,) = match_entries([e], ROSTER)
    return m


def test_match_by_id_number_lower_x_and_wrong_folder() -> None:
    m = one(entry("11010120150101109x", ("一年级", "1班")))
    assert (m.status, m.by, m.pupil and m.pupil.key, m.reason) == ("matched", "id_number", "1", "")
    # A folder that contradicts the class never refuses an ID match, it only says so.
    m = one(entry("11010120150101109X", ("三年级", "5班")))
    assert m.status == "matched"
    assert "不一致" in m.reason


def test_match_by_national_number() -> None:
    m = one(entry("g110101201502021230"))
    assert (m.status, m.by, m.pupil and m.pupil.key) == ("matched", "national_number", "2")
    m = one(entry("J2024000000000009"))
    assert (m.status, m.pupil and m.pupil.key) == ("matched", "5")


def test_match_by_name_flat() -> None:
    m = one(entry("李四"))
    assert (m.status, m.by, m.pupil and m.pupil.key) == ("matched", "name", "2")
    m = one(entry(" 欧阳 娜娜 "))
    assert (m.status, m.pupil and m.pupil.key) == ("matched", "6")


@pytest.mark.parametrize(
    "folders",
    [
        ("二年级", "2班"),
        ("二年级2班",),
        ("二年级", "(2)班"),
        ("二年级", "（2）班"),
        ("2024级", "二年级", "2班"),
    ],
)
def test_same_name_told_apart_by_folders(folders: tuple[str, ...]) -> None:
    m = one(entry("王芳", folders))
    assert (m.status, m.by, m.pupil and m.pupil.key) == ("matched", "name", "4")


def test_same_name_without_folders_is_ambiguous() -> None:
    m = one(entry("王芳"))
    assert m.status == "ambiguous"
    assert m.pupil is None
    assert "2 名学生" in m.reason
    assert "二年级(1)班" in m.reason
    assert "二年级(2)班" in m.reason
    m = one(entry("王芳", ("二年级",)))  # the grade alone does not tell them apart
    assert m.status == "ambiguous"


def test_no_id_rule() -> None:
    m = one(entry(f"{SCHOOL}_02_赵六"))
    assert (m.status, m.by, m.pupil and m.pupil.key) == ("matched", "school_class_name", "5")
    m = one(entry(f"{SCHOOL}_2_赵六"))  # 班号 without the leading zero
    assert m.status == "matched"
    m = one(entry("9999999999_02_赵六"))
    assert m.status == "unmatched"
    assert "9999999999" in m.reason
    m = one(entry(f"{SCHOOL}_01_赵六"))
    assert m.status == "unmatched"
    assert m.closest == ("赵六",)


def test_duplicates_are_both_marked() -> None:
    ms = match_entries(
        [entry("张三", ("一年级", "1班")), entry("11010120150101109X"), entry("李四")], ROSTER
    )
    assert [m.status for m in ms] == ["duplicate", "duplicate", "matched"]
    assert "2 个文件" in ms[0].reason
    assert "一年级/1班/张三.jpg" in ms[0].reason


def test_unmatched_with_closest_names() -> None:
    m = one(entry("张叁"))
    assert m.status == "unmatched"
    assert m.closest == ("张三",)
    assert "张叁" in m.reason
    m = one(entry("欧阳娜"))
    assert m.closest[0] == "欧阳娜娜"
    m = one(entry("110101201502021231"))  # one digit off: checksum wrong
    assert m.status == "unmatched"
    assert "校验位" in m.reason
    assert m.closest == ("李四",)


def test_refused_entries_stay_refused() -> None:
    m = one(entry("张三", problem=A.P_NOT_IMAGE))
    assert (m.status, m.pupil) == ("refused", None)
    assert A.P_NOT_IMAGE in m.reason


def test_whole_zip_dry_run_counts() -> None:
    zf = build(
        [
            ("一年级/1班/11010120150101109X.jpg", JPEG),
            ("一年级/1班/李四.jpg", JPEG),
            ("二年级/2班/王芳.jpg", JPEG),
            ("二年级/王芳.jpg", JPEG),
            ("一年级/2班/赵六.png", PNG),
            ("一年级/2班/赵六 (1).png", PNG),
            ("一年级/2班/钱七.jpg", JPEG),
            ("../x.jpg", JPEG),
            ("readme.txt.jpg", b"hello"),
            ("__MACOSX/._x", b"x"),
        ],
        gbk=True,
    )
    ms = match_entries(archive_entries(zf, spec=DEFAULT_SPEC), ROSTER)
    assert Counter(m.status for m in ms) == {
        "matched": 4,  # 张三 by ID, 李四, 王芳 (二年级2班), 赵六
        "ambiguous": 1,  # 王芳 in 二年级 only
        "unmatched": 2,  # "赵六 (1)" and 钱七
        "refused": 2,
    }
