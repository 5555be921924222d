"""The import template, upload sniffing, fast reading, the annotated error workbook and the
export (domain.md §2.3, §3.16). Pure byte-level tests: no database."""

from __future__ import annotations

import datetime
import io
import struct
import zipfile
from collections.abc import Sequence

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.worksheet.worksheet import Worksheet

from tenant_apps.registry.codes import table
from tenant_apps.registry.fields import BY_KEY, COLUMNS, REQUIRED_HEADERS, requirement
from tenant_apps.registry.imports import annotate, columns
from tenant_apps.registry.imports.annotate import workbook_annotate
from tenant_apps.registry.imports.columns import (
    ANNOTATION_AUTHOR,
    CODES_SHEET,
    DATA_SHEET,
    ERROR_FILL_RGB,
    ERROR_HEADER,
    INSTRUCTIONS_SHEET,
    MSG_CORRUPT,
    MSG_CSV_BINARY,
    MSG_CSV_NUL,
    MSG_DISGUISED,
    MSG_ENCRYPTED,
    MSG_HTML,
    MSG_NO_HEADER,
    MSG_XLS_AS_XLSX,
    MSG_XLSX_AS_XLS,
    MSG_ZIP_BOMB,
    TEMPLATE_ROWS,
    UploadRejected,
)
from tenant_apps.registry.imports.export import rows_export
from tenant_apps.registry.imports.reader import workbook_read
from tenant_apps.registry.imports.sniff import upload_sniff, zip_sizes_refused
from tenant_apps.registry.imports.template import template_build, template_sample
from tenant_apps.registry.tests.factories import valid_row

SCHOOL_NAME = "浏阳市古港镇中心小学"
SCHOOL_CODE = "2143016965"
CODED = [c for c in COLUMNS if c.kind in ("code", "yesno")]


@pytest.fixture(scope="module")
def template() -> bytes:
    return template_build(school_name=SCHOOL_NAME, school_code=SCHOOL_CODE)


def _sheet(data: bytes, name: str | None = None) -> Worksheet:
    wb = load_workbook(io.BytesIO(data))
    ws = wb[name] if name else wb.worksheets[0]
    assert isinstance(ws, Worksheet)
    return ws


def _letter(key: str) -> str:
    return get_column_letter([c.key for c in COLUMNS].index(key) + 1)


def _filled(template: bytes, rows: dict[int, dict[str, object]]) -> bytes:
    """The template with values typed into the data sheet at the given Excel rows."""
    wb = load_workbook(io.BytesIO(template))
    ws = wb[DATA_SHEET]
    for number, values in rows.items():
        for key, value in values.items():
            ws[f"{_letter(key)}{number}"] = value  # type: ignore[assignment]
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# -- compound files (OLE2/CFB) and BIFF8, built by hand because nothing installed writes .xls


def _cfb(streams: dict[str, bytes]) -> bytes:
    """A version-3 compound file with 512-byte sectors: FAT in sector 0, the directory in
    sector 1, each stream in consecutive sectors after that (no mini stream)."""
    size, end, free, fat_sector, nostream = 512, 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    fat = [fat_sector, end]
    body = b""
    entries = [("Root Entry", 5, end, 0)]
    for name, payload in streams.items():
        count = -(-len(payload) // size)
        start = len(fat) if count else end
        fat += [len(fat) + k + 1 for k in range(count - 1)] + ([end] if count else [])
        body += payload.ljust(count * size, b"\0")
        entries.append((name, 2, start, len(payload)))
    assert len(fat) <= size // 4
    assert len(entries) <= size // 128
    directory = b""
    for i, (name, kind, start, length) in enumerate(entries):
        encoded = name.encode("utf-16-le") + b"\0\0"
        child = 1 if i == 0 and len(entries) > 1 else nostream
        right = i + 1 if 0 < i < len(entries) - 1 else nostream
        directory += (
            encoded.ljust(64, b"\0")
            + struct.pack("<HBB", len(encoded), kind, 1)
            + struct.pack("<III", nostream, right, child)
            + b"\0" * 36  # CLSID, state bits, creation and modification times
            + struct.pack("<IQ", start, length)
        )
    header = (
        bytes.fromhex("D0CF11E0A1B11AE1")
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x003E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<9I", 0, 1, 1, 0, 4096, end, 0, end, 0)
        + struct.pack("<109I", 0, *([free] * 108))
    )
    fat_bytes = struct.pack(f"<{size // 4}I", *(fat + [free] * (size // 4 - len(fat))))
    return header + fat_bytes + directory.ljust(size, b"\0") + body


def _record(kind: int, payload: bytes) -> bytes:
    return struct.pack("<HH", kind, len(payload)) + payload


def _xls(rows: Sequence[Sequence[str | float | None]], *, encrypted: bool = False) -> bytes:
    """A BIFF8 workbook with one sheet named 学生信息: LABEL cells for text, NUMBER for floats."""
    bof = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0))
    filepass = _record(0x002F, struct.pack("<H", 1) + b"\0" * 52) if encrypted else b""
    name = DATA_SHEET.encode("utf-16-le")
    bound_len = 4 + 8 + len(name)
    sheet_at = len(bof) + len(filepass) + bound_len + 4
    bound = _record(0x0085, struct.pack("<IBBBB", sheet_at, 0, 0, len(DATA_SHEET), 1) + name)
    cells = b""
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, str):
                text = value.encode("utf-16-le")
                cells += _record(0x0204, struct.pack("<HHHHB", r, c, 0, len(value), 1) + text)
            elif isinstance(value, float):
                cells += _record(0x0203, struct.pack("<HHHd", r, c, 0, value))
    sheet_bof = _record(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0x0DBB, 0x07CC, 0, 0))
    stream = bof + filepass + bound + _record(0x000A, b"") + sheet_bof + cells
    stream += _record(0x000A, b"")
    # Streams under 4096 bytes belong in the mini stream; padding keeps the file simple.
    return _cfb({"Workbook": stream.ljust(4096, b"\0")})


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return out.getvalue()


def _zip_of_zeros(megabytes: int) -> bytes:
    """A workbook-shaped ZIP whose sheet inflates to `megabytes` of zeros, streamed in."""
    out = io.BytesIO()
    chunk = b"\0" * (1024 * 1024)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for _ in range(megabytes):
                member.write(chunk)
    return out.getvalue()


# -- 1. template ------------------------------------------------------------------------


def test_template_headers_follow_the_national_order_with_required_in_red(template: bytes) -> None:
    ws = _sheet(template, DATA_SHEET)
    colour = {"required": "FFFF0000", "conditional": "FFE26B0A", "optional": "FF000000"}

    assert [cell.value for cell in ws[1]] == [c.header for c in COLUMNS]
    for cell, column in zip(ws[1], COLUMNS, strict=True):
        assert cell.font.b is True
        assert cell.font.color.rgb == colour[requirement(column)], column
    assert ws.freeze_panes == "A2"


def test_template_header_comments_explain_the_formats(template: bytes) -> None:
    ws = _sheet(template, DATA_SHEET)
    comments = {cell.value: cell.comment for cell in ws[1]}

    assert all(c is not None and c.author == ANNOTATION_AUTHOR for c in comments.values())
    assert "8位数字，如20180301" in comments["出生日期"].text  # type: ignore[union-attr]
    assert "12位行政区划代码，如古港镇430181108000" in comments["出生地"].text  # type: ignore[union-attr]
    assert "以“族”结尾，如汉族" in comments["民族"].text  # type: ignore[union-attr]
    assert "4位入学年份+学段(1小学2初中3高中)+2位班号，如2024101" in comments["班级"].text  # type: ignore[union-attr]
    assert "必填" in comments["姓名"].text  # type: ignore[union-attr]
    assert "选填" in comments["曾用名"].text  # type: ignore[union-attr]


def test_template_has_a_drop_down_on_every_coded_column_fed_from_the_code_sheet(
    template: bytes,
) -> None:
    wb = load_workbook(io.BytesIO(template))
    ws, codes_ws = wb[DATA_SHEET], wb[CODES_SHEET]
    by_range = {str(dv.sqref): dv for dv in ws.data_validations.dataValidation}

    assert len(by_range) == len(CODED)
    for column in CODED:
        letter = _letter(column.key)
        dv = by_range[f"{letter}2:{letter}{TEMPLATE_ROWS + 1}"]
        assert dv.type == "list"
        assert dv.allow_blank is (requirement(column) != "required")
        assert dv.error
        assert dv.showErrorMessage
        sheet, cells = dv.formula1.split("!")
        assert sheet == f"'{CODES_SHEET}'"
        min_col, min_row, max_col, max_row = range_boundaries(cells.replace("$", ""))
        labels = [codes_ws.cell(row=r, column=min_col).value for r in range(min_row, max_row + 1)]  # type: ignore[arg-type,operator]
        expected = table(column.code_table or "yesno").codes
        assert labels == [label for _, label in expected], column.key
        assert (
            codes_ws.cell(row=1, column=min_col).value == table(column.code_table or "yesno").label  # type: ignore[arg-type]
        )
        # The code sits next to its label, as text so "01" stays "01".
        assert [codes_ws.cell(row=r, column=min_col + 1).value for r in range(2, max_row + 1)] == [  # type: ignore[operator]
            code for code, _ in expected
        ]


def test_template_keeps_number_like_columns_as_text_and_has_no_data_rows(template: bytes) -> None:
    ws = _sheet(template, DATA_SHEET)

    for key in ("id_number", "birthplace", "birth_date", "class_no", "phone", "m1_id_number"):
        letter = _letter(key)
        assert ws[f"{letter}2"].number_format == "@"
        assert ws[f"{letter}{TEMPLATE_ROWS + 1}"].number_format == "@"
    assert ws[f"{_letter('name')}2"].number_format == "General"
    assert all(v is None for row in ws.iter_rows(min_row=2, values_only=True) for v in row)
    headers, rows = workbook_read(data=template, fmt="xlsx")
    assert headers == [c.header for c in COLUMNS]
    assert list(rows) == []


def test_template_instructions_name_the_school_give_the_rules_and_a_sample(
    template: bytes,
) -> None:
    wb = load_workbook(io.BytesIO(template))
    assert wb.sheetnames == [DATA_SHEET, INSTRUCTIONS_SHEET, CODES_SHEET]
    ws = wb[INSTRUCTIONS_SHEET]
    texts = [str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None]

    assert SCHOOL_NAME in texts[0]
    assert SCHOOL_CODE in texts[0]
    rules = (
        "红色表头为必填项",
        "不要有空格",
        "8位数字",
        "12位行政区划代码",
        "以“族”结尾",
        "小学2011级(02)班",
        "2024101",
        "202409",
        "成员1和成员2",
    )
    for needle in rules:
        assert any(needle in t for t in texts), needle
    pairs = {
        row[1]: row[3]
        for row in ws.iter_rows(values_only=True)
        if row[1] in {c.header for c in COLUMNS}
    }
    sample = template_sample()
    assert pairs == {c.header: sample[c.key] or None for c in COLUMNS}
    assert sample["id_number"][6:14] == sample["birth_date"]


# -- 2. reading -------------------------------------------------------------------------


def test_filled_template_reads_back_keyed_by_column_with_excel_row_numbers(
    template: bytes,
) -> None:
    # given: a full sample row, a blank row, and a row typed the way Excel users do
    sample = template_sample()
    typed = {
        "name": " 李 四",
        "birth_date": datetime.datetime(2018, 3, 1),  # noqa: DTZ001 - a naive Excel cell value
        "entry_year_month": datetime.date(2024, 9, 1),
        "phone": 13807310000,
        "distance_km": 2.5,
        "id_number": 430181201803010013,  # typed into a column reset to "General"
        "only_child": True,
        "class_no": "   ",
    }
    data = _filled(template, {2: dict(sample), 4: typed})

    # when
    headers, rows = workbook_read(data=data, fmt="xlsx")
    got = list(rows)

    # then
    assert headers == [c.header for c in COLUMNS]
    assert [n for n, _ in got] == [2, 4]
    first, second = got[0][1], got[1][1]
    assert set(first) == {c.key for c in COLUMNS}
    assert first == {k: v or None for k, v in sample.items()}
    assert second["name"] == " 李 四"  # kept as given: validation reports the spaces
    assert second["birth_date"] == "20180301"
    assert second["entry_year_month"] == "202409"
    assert second["phone"] == "13807310000"
    assert second["distance_km"] == "2.5"
    assert second["only_child"] == "是"
    assert second["class_no"] is None
    assert isinstance(second["id_number"], float)  # 18 digits cannot survive a float
    assert second["sex"] is None


def test_reading_skips_a_title_line_and_ignores_unknown_columns() -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["2024学年学生名单"])
    ws.append(["备注", *[c.header for c in REQUIRED_HEADERS]])
    ws.append(["无关", *["x" for c in REQUIRED_HEADERS]])
    out = io.BytesIO()
    wb.save(out)

    headers, rows = workbook_read(data=out.getvalue(), fmt="xlsx")

    assert headers[0] == "备注"
    got = list(rows)
    assert [n for n, _ in got] == [3]
    assert set(got[0][1]) == {c.key for c in REQUIRED_HEADERS}


def test_missing_required_columns_are_named_in_template_order() -> None:
    csv_data = "姓名,性别,班级\n张三,男,2024101\n".encode()

    with pytest.raises(UploadRejected) as caught:
        workbook_read(data=csv_data, fmt="csv")

    assert caught.value.message.startswith("缺少必填列：出生日期、出生地、籍贯、民族")
    assert "性别" not in caught.value.message


def test_a_sheet_without_template_headers_is_refused() -> None:
    with pytest.raises(UploadRejected) as caught:
        workbook_read(data=b"a,b\n1,2\n", fmt="csv")
    assert caught.value.message == MSG_NO_HEADER


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [("utf-8", b"\xef\xbb\xbf"), ("utf-8", b""), ("gb18030", b"")],
    ids=["utf8_sig_case", "utf8_case", "gb18030_case"],
)
def test_csv_reads_back_in_utf8_and_gb18030(encoding: str, bom: bytes) -> None:
    sample = template_sample()
    lines = [
        ",".join(c.header for c in COLUMNS),
        ",".join(sample[c.key] for c in COLUMNS),
        "," * (len(COLUMNS) - 1),
        ",".join(sample[c.key] for c in COLUMNS).replace("张小明", "欧阳·娜"),
    ]
    data = bom + "\r\n".join(lines).encode(encoding)

    assert upload_sniff(name="学生.CSV", data=data) == "csv"
    headers, rows = workbook_read(data=data, fmt="csv")
    got = list(rows)

    assert headers == [c.header for c in COLUMNS]
    assert [n for n, _ in got] == [2, 4]
    assert got[0][1]["id_number"] == "430181201803010013"
    assert got[0][1]["ethnicity"] == "汉族"
    assert got[1][1]["name"] == "欧阳·娜"
    assert got[0][1]["former_name"] is None


def test_a_real_xls_is_sniffed_and_read_through_calamine() -> None:
    # given: a BIFF8 workbook (built by hand: nothing installed writes .xls) whose ID number
    # was stored as a number, so Excel kept only 15 significant digits
    required = [c for c in COLUMNS if requirement(c) == "required" or c.key == "id_number"]
    sample = template_sample()
    row: list[str | float | None] = [sample[c.key] for c in required]
    row[[c.key for c in required].index("id_number")] = 430181201803010013.0
    row[[c.key for c in required].index("postcode")] = 410300.0
    data = _xls([[c.header for c in required], row])

    # when
    fmt = upload_sniff(name="学生.xls", data=data)
    headers, rows = workbook_read(data=data, fmt=fmt)

    # then
    assert fmt == "xls"
    assert headers == [c.header for c in required]
    ((number, record),) = list(rows)
    assert number == 2
    assert record["name"] == "张小明"
    assert record["ethnicity"] == "汉族"
    assert record["postcode"] == "410300"
    assert record["id_number"] == pytest.approx(4.30181201803010013e17)


# -- 3. upload sniffing -----------------------------------------------------------------


def test_sniff_accepts_the_three_formats(template: bytes) -> None:
    assert upload_sniff(name="C:\\fakepath\\模板.XLSX", data=template) == "xlsx"
    assert upload_sniff(name="old.xls", data=_xls([["姓名"]])) == "xls"
    assert upload_sniff(name="list.csv", data="姓名\n张三\n".encode("gb18030")) == "csv"


PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"
EXE = b"MZ\x90\x00\x03" + b"\0" * 64


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("空.xlsx", b"", "文件是空的"),
        ("大.xlsx", b"PK\x03\x04" + b"\0" * 2048, "文件超过1KB"),
        ("学生.docx", b"PK\x03\x04", "不支持的文件类型“.docx”"),
        ("学生", b"abc", "不支持的文件类型“无扩展名”"),
        ("照片.xlsx", PNG, MSG_DISGUISED),
        ("报告.xls", PDF, MSG_DISGUISED),
        ("程序.xlsx", EXE, MSG_DISGUISED),
        ("网页.xls", b"\xef\xbb\xbf<html><table><tr><td>1</td></tr></table>", MSG_HTML),
        ("名单.csv", "姓名,性别\n张三\0,男\n".encode(), MSG_CSV_NUL),
        ("名单.csv", PNG, MSG_CSV_BINARY),
        ("压缩包.xlsx", _zip({"readme.txt": b"hello"}), MSG_DISGUISED),
        (
            "文档.xlsx",
            _zip({"[Content_Types].xml": b"<T/>", "word/document.xml": b"<w/>"}),
            MSG_DISGUISED,
        ),
        ("坏.xlsx", _zip({"xl/workbook.xml": b"<w/>"})[:40], MSG_CORRUPT),
        (
            "加密.xlsx",
            _cfb({"EncryptionInfo": b"\4\0\4\0" + b"\0" * 60, "EncryptedPackage": b"\0" * 700}),
            MSG_ENCRYPTED,
        ),
        ("加密.xls", _cfb({"EncryptedPackage": b"\0" * 100}), MSG_ENCRYPTED),
        ("加密97.xls", _xls([["姓名"]], encrypted=True), MSG_ENCRYPTED),
        ("旧格式.xlsx", _xls([["姓名"]]), MSG_XLS_AS_XLSX),
        ("Word.xls", _cfb({"WordDocument": b"\0" * 600}), MSG_DISGUISED),
    ],
    ids=[
        "empty_case",
        "oversized_case",
        "wrong_extension_case",
        "no_extension_case",
        "png_as_xlsx_case",
        "pdf_as_xls_case",
        "exe_as_xlsx_case",
        "html_as_xls_case",
        "csv_with_nul_case",
        "png_as_csv_case",
        "zip_not_workbook_case",
        "word_as_xlsx_case",
        "truncated_zip_case",
        "encrypted_xlsx_case",
        "encrypted_xlsx_named_xls_case",
        "encrypted_biff8_case",
        "xls_named_xlsx_case",
        "word97_as_xls_case",
    ],
)
def test_sniff_rejects_with_a_clear_message(name: str, data: bytes, message: str) -> None:
    max_bytes = 1024 if name == "大.xlsx" else 20 * 1024 * 1024

    with pytest.raises(UploadRejected) as caught:
        upload_sniff(name=name, data=data, max_bytes=max_bytes)

    assert message in caught.value.message


def test_sniff_states_the_size_cap_in_megabytes() -> None:
    data = b"PK\x03\x04" + b"\0" * (20 * 1024 * 1024)
    with pytest.raises(UploadRejected) as caught:
        upload_sniff(name="大.xlsx", data=data)
    assert caught.value.message.startswith("文件超过20MB")


def test_sniff_rejects_an_xlsx_named_xls(template: bytes) -> None:
    with pytest.raises(UploadRejected) as caught:
        upload_sniff(name="模板.xls", data=template)
    assert caught.value.message == MSG_XLSX_AS_XLS


@pytest.mark.parametrize("megabytes", [300, 20], ids=["300mb_of_zeros", "20mb_of_zeros"])
def test_sniff_rejects_zip_bombs(megabytes: int) -> None:
    data = _zip_of_zeros(megabytes)
    assert len(data) < 1024 * 1024  # the whole point: tiny upload, huge inflation

    with pytest.raises(UploadRejected) as caught:
        upload_sniff(name="炸弹.xlsx", data=data)

    assert caught.value.message == MSG_ZIP_BOMB


def _declared_sizes(data: bytes, member: str, *, uncompressed: int, compressed: int) -> bytes:
    """`data` with the central-directory sizes of `member` rewritten (what a crafted
    archive claims; zipfile.infolist, and so the sniffer, reads only these)."""
    raw = bytearray(data)
    name = member.encode()
    at = raw.find(b"PK\x01\x02")
    while at >= 0:
        name_length = struct.unpack_from("<H", raw, at + 28)[0]
        if bytes(raw[at + 46 : at + 46 + name_length]) == name:
            struct.pack_into("<II", raw, at + 20, compressed, uncompressed)
            return bytes(raw)
        at = raw.find(b"PK\x01\x02", at + 4)
    raise AssertionError(member)


def test_sniff_does_not_believe_declared_compressed_sizes_beyond_the_file() -> None:
    # given: 500 MB declared in 50 MB declared (10:1, honest-looking), in a 1 KB file
    data = _declared_sizes(
        _zip_of_zeros(1),
        "xl/worksheets/sheet1.xml",
        uncompressed=500 * 1024 * 1024,
        compressed=50 * 1024 * 1024,
    )
    assert len(data) < 1024 * 1024

    with pytest.raises(UploadRejected) as caught:
        upload_sniff(name="炸弹.xlsx", data=data)

    assert caught.value.message == MSG_ZIP_BOMB


@pytest.mark.parametrize(
    ("uncompressed_mb", "compressed_mb", "refused"),
    [
        (227, 15.3, False),  # our 50,000-row export (rows_export), measured
        (460, 31, False),  # a 100,000-row export (MAX_SHEET_ROWS)
        (60, 12.4, False),  # 50,000 rows as Excel saves them (shared strings)
        (9, 0.01, False),  # under the ratio floor: a filled template compresses very well
        (300, 0.3, True),  # zeros
        (50, 0.4, True),  # 125:1
        (1100, 20, True),  # over the ceiling at an honest-looking 55:1
    ],
)
def test_zip_limits_tell_big_workbooks_from_bombs(
    uncompressed_mb: float, compressed_mb: float, refused: bool
) -> None:
    mb = 1024 * 1024
    assert (
        zip_sizes_refused(
            uncompressed=int(uncompressed_mb * mb), compressed=int(compressed_mb * mb)
        )
        is refused
    )


def test_our_own_export_of_a_whole_school_passes_the_sniffer_and_reads_back() -> None:
    # given: a real export of 2,000 pupils, and its sizes scaled to MAX_SHEET_ROWS pupils
    n = 2000
    rows = [valid_row(seq=i) for i in range(n)]
    data = rows_export(rows=rows)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
    sheet_xml = next(i for i in infos if i.filename.startswith("xl/worksheets/"))
    other_xml = sum(i.file_size for i in infos) - sheet_xml.file_size
    scale = columns.MAX_SHEET_ROWS / n
    whole_uncompressed = other_xml + int(sheet_xml.file_size * scale)
    whole_compressed = int(len(data) * scale)
    assert whole_uncompressed > 400 * 1024 * 1024  # well past the old 200 MB refusal

    # then: the real file is accepted and reads back; the scaled one passes the size rules
    assert upload_sniff(name="导出.xlsx", data=data) == "xlsx"
    _headers, read = workbook_read(data=data, fmt="xlsx")
    back = list(read)
    assert len(back) == n
    assert back[0][1]["name"] == rows[0]["name"]
    assert back[-1][1]["id_number"] == rows[-1]["id_number"]
    assert not zip_sizes_refused(uncompressed=whole_uncompressed, compressed=whole_compressed)


def test_an_encrypted_biff8_is_refused_by_the_reader_too() -> None:
    with pytest.raises(UploadRejected) as caught:
        workbook_read(data=_xls([["姓名"]], encrypted=True), fmt="xls")
    assert caught.value.message == MSG_ENCRYPTED


# -- 4. annotated workbook --------------------------------------------------------------

ERRORS: dict[int, list[tuple[str, str]]] = {
    2: [
        ("birth_date", "出生日期应为8位数字的日期（年月日），如“20180301”。"),
        ("id_number", "校验位错误，应为“3”。"),
        ("id_number", "与出生日期不一致。"),
        ("row", "与第3行是同一名学生。"),
    ],
    3: [("member1", "成员1须填写姓名和关系。")],
}


def test_annotated_xlsx_marks_cells_red_with_comments_and_adds_the_error_column(
    template: bytes,
) -> None:
    sample = template_sample()
    data = _filled(template, {2: dict(sample), 3: dict(sample)})

    annotated = workbook_annotate(data=data, fmt="xlsx", errors=ERRORS)

    ws = _sheet(annotated, DATA_SHEET)
    error_letter = get_column_letter(len(COLUMNS) + 1)
    assert ws[f"{error_letter}1"].value == ERROR_HEADER
    birth, id_cell = ws[f"{_letter('birth_date')}2"], ws[f"{_letter('id_number')}2"]
    for cell in (birth, id_cell):
        assert cell.fill.fill_type == "solid"
        assert cell.fill.fgColor.rgb == ERROR_FILL_RGB
        assert cell.comment.author == ANNOTATION_AUTHOR
    assert id_cell.comment.text == "校验位错误，应为“3”。\n与出生日期不一致。"
    assert birth.value == "20180301"  # the value stays for the user to fix
    assert ws[f"{error_letter}2"].value == (
        "出生日期应为8位数字的日期（年月日），如“20180301”。；身份证件号：校验位错误，应为“3”。；"
        "身份证件号：与出生日期不一致。；与第3行是同一名学生。"
    )
    # Row-level problems only reach the error column.
    assert ws[f"{error_letter}3"].value == "成员1须填写姓名和关系。"
    assert not any(
        cell.fill.fill_type == "solid" and cell.fill.fgColor.rgb == ERROR_FILL_RGB for cell in ws[3]
    )
    assert ws[f"{_letter('name')}2"].comment is None
    # The template's drop-downs survive the round trip through openpyxl.
    assert len(ws.data_validations.dataValidation) == len(CODED)


def test_annotating_a_returned_annotated_file_clears_the_old_marks(template: bytes) -> None:
    sample = template_sample()
    first = workbook_annotate(
        data=_filled(template, {2: dict(sample), 3: dict(sample)}), fmt="xlsx", errors=ERRORS
    )

    again = workbook_annotate(data=first, fmt="xlsx", errors={3: [("sex", "性别为必填项。")]})

    ws = _sheet(again, DATA_SHEET)
    error_letter = get_column_letter(len(COLUMNS) + 1)
    assert ws[f"{error_letter}1"].value == ERROR_HEADER
    assert ws[f"{get_column_letter(len(COLUMNS) + 2)}1"].value is None
    assert ws[f"{error_letter}2"].value is None
    assert ws[f"{_letter('birth_date')}2"].fill.fill_type is None
    assert ws[f"{_letter('birth_date')}2"].comment is None
    assert ws[f"{_letter('sex')}3"].fill.fgColor.rgb == ERROR_FILL_RGB
    assert ws[f"{error_letter}3"].value == "性别为必填项。"
    # The annotated file still reads as an import: 错误说明 is just an unknown column.
    _, rows = workbook_read(data=again, fmt="xlsx")
    assert [n for n, _ in rows] == [2, 3]


@pytest.mark.parametrize("fmt", ["csv", "xls"], ids=["csv_case", "xls_case"])
def test_annotated_csv_and_xls_come_back_as_xlsx(fmt: str) -> None:
    sample = template_sample()
    header = [c.header for c in COLUMNS]
    values = [sample[c.key] or None for c in COLUMNS]
    if fmt == "csv":
        line = ",".join(v or "" for v in values)
        data = "\n".join([",".join(header), line, line]).encode("gb18030")
    else:
        data = _xls([header, values, values])

    annotated = workbook_annotate(data=data, fmt=fmt, errors=ERRORS)

    assert upload_sniff(name="标注.xlsx", data=annotated) == "xlsx"
    ws = _sheet(annotated, DATA_SHEET)
    error_letter = get_column_letter(len(COLUMNS) + 1)
    assert [c.value for c in ws[1]] == [*header, ERROR_HEADER]
    assert ws[f"{_letter('id_number')}2"].value == "430181201803010013"
    assert ws[f"{_letter('id_number')}2"].fill.fgColor.rgb == ERROR_FILL_RGB
    assert ws[f"{_letter('id_number')}2"].comment.author == ANNOTATION_AUTHOR
    assert ws[f"{error_letter}2"].value.endswith("与第3行是同一名学生。")
    assert ws[f"{error_letter}3"].value == "成员1须填写姓名和关系。"
    assert ws[f"{_letter('name')}3"].value == "张小明"


# -- 5. export --------------------------------------------------------------------------


def test_export_writes_headers_in_national_order_and_reads_back() -> None:
    sample = template_sample()
    records: list[dict[str, object]] = [
        dict(sample),
        {"name": "王五", "id_number": "43018120180301001X", "number_in_class": 7},
    ]
    columns = [BY_KEY[k] for k in ("name", "sex", "id_number", "number_in_class", "m1_name")]

    data = rows_export(rows=records, columns=columns)

    ws = _sheet(data, DATA_SHEET)
    assert [c.value for c in ws[1]] == ["姓名", "性别", "身份证件号", "班内学号", "成员1姓名"]
    assert all(c.font.b for c in ws[1])
    assert [c.value for c in ws[2]] == ["张小明", "男", "430181201803010013", "12", "张大山"]
    assert [c.value for c in ws[3]] == ["王五", None, "43018120180301001X", "7", None]

    full = rows_export(rows=[dict(sample)])
    headers, rows = workbook_read(data=full, fmt="xlsx")
    assert headers == [c.header for c in COLUMNS]
    assert list(rows) == [(2, {k: v or None for k, v in sample.items()})]
    assert _sheet(full).max_column == len(COLUMNS)


def test_a_big_xlsx_is_annotated_by_rebuilding_it(
    template: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a sheet over the in-place limit (lowered here instead of writing 7,000 rows)
    monkeypatch.setattr(annotate, "ANNOTATE_IN_PLACE_MAX_CELLS", 10)
    sample = template_sample()
    data = _filled(template, {2: dict(sample), 3: dict(sample)})

    annotated = workbook_annotate(data=data, fmt="xlsx", errors=ERRORS)

    # then: the same marks, on a plain sheet (the template's drop-downs are not carried over)
    ws = _sheet(annotated, DATA_SHEET)
    error_letter = get_column_letter(len(COLUMNS) + 1)
    assert [c.value for c in ws[1]] == [*(c.header for c in COLUMNS), ERROR_HEADER]
    assert ws[f"{_letter('birth_date')}2"].fill.fgColor.rgb == ERROR_FILL_RGB
    assert ws[f"{_letter('birth_date')}2"].comment.author == ANNOTATION_AUTHOR
    assert ws[f"{error_letter}3"].value == "成员1须填写姓名和关系。"
    assert ws[f"{_letter('id_number')}3"].value == "430181201803010013"
    assert len(ws.data_validations.dataValidation) == 0
