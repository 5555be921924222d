"""registry.validation.rows: every rule of domain.md §2 on rows of the national template.

Each test starts from `valid_row()` (a pupil of class 2024101 that passes everything),
breaks or reshapes one thing, and checks the exact error kind, that the message names
the column's header, and the normalised value that would be stored.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from stdnum.cn import ric

from tenant_apps.registry.codes import table
from tenant_apps.registry.fields import BY_KEY, COLUMNS
from tenant_apps.registry.tests.factories import MAX_SEQ, resident_id, valid_row
from tenant_apps.registry.validation.rows import (
    FieldError,
    RowResult,
    RowValidator,
    validate_student,
)

TODAY = dt.date(2025, 3, 1)  # school year 2024–2025: class 2024101 is in 一年级
_FULL_WIDTH = {ord(c): ord(c) + 0xFEE0 for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"}


@pytest.fixture
def validator(db: None) -> RowValidator:
    # `db`: the region columns are checked against the division table.
    return RowValidator(today=TODAY)


def run(validator: RowValidator, seq: int = 0, **overrides: object) -> RowResult:
    return validator.validate(valid_row(seq, **overrides))


def errors_of(result: RowResult, key: str) -> list[FieldError]:
    return [e for e in result.errors if e.key == key]


def kinds_of(result: RowResult, key: str) -> list[str]:
    return [e.kind for e in errors_of(result, key)]


def only_error(result: RowResult, key: str, kind: str) -> FieldError:
    """The row's one error is on `key` with `kind`, and its message names the header."""
    assert [(e.key, e.kind) for e in result.errors] == [(key, kind)], result.errors
    error = result.errors[0]
    assert error.header in error.message
    return error


def full_width(text: str) -> str:
    return text.translate(_FULL_WIDTH)


# -- the complete row ----------------------------------------------------------------


def test_valid_complete_row_returns_no_errors_and_typed_codes(validator: RowValidator) -> None:
    result = run(validator)
    assert result.errors == []
    assert result.ok
    data = result.data
    assert set(data) == {c.key for c in COLUMNS}
    row = valid_row()
    assert data["name"] == row["name"]
    assert data["id_number"] == row["id_number"]
    assert data["sex"] == "1"
    assert data["birth_date"] == dt.date(2017, 9, 1)
    assert data["birthplace"] == data["household_region"] == "430181108201"
    assert (data["ethnicity"], data["nationality"], data["id_type"]) == ("01", "CHN", "1")
    assert (data["overseas"], data["political"], data["health"]) == ("00", "13", "10")
    assert (data["household_type"], data["entry_mode"], data["attendance"]) == ("1", "11", "1")
    assert (data["source"], data["left_behind"], data["transport"]) == ("1", "0", "1")
    assert (data["inclusive"], data["disability"]) == ("0", "0")
    assert data["number_in_class"] == 1
    assert data["grade"] == "小学2024级"
    assert data["class_no"] == "2024101"
    assert data["entry_year_month"] == "202409"
    assert data["only_child"] is False
    assert data["preschool"] is True
    assert data["distance_km"] == Decimal("1.50")
    assert data["id_validity"] == "20181006-20231005"
    assert (data["m1_relation"], data["m2_relation"]) == ("1", "2")
    assert data["m1_is_guardian"] is True
    assert data["email"] is None
    assert data["former_name"] is None


def test_valid_row_varies_with_seq_and_always_passes(validator: RowValidator) -> None:
    seqs = [*range(0, 3000, 7), MAX_SEQ - 2, MAX_SEQ - 1]
    rows = [valid_row(seq) for seq in seqs]
    for seq, row in zip(seqs, rows, strict=True):
        assert validator.validate(row).errors == [], seq
    for key in ("name", "id_number", "m1_id_number", "m2_id_number", "phone"):
        assert len({row[key] for row in rows}) == len(rows), key


def test_valid_row_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="seq"):
        valid_row(MAX_SEQ)
    with pytest.raises(KeyError, match="nmae"):
        valid_row(nmae="李明")


def test_validate_student_and_default_today(db: None) -> None:
    assert validate_student(valid_row(5), today=TODAY).errors == []
    assert RowValidator().validate(valid_row(5)).errors == []  # today = the real date


def test_all_errors_of_a_row_are_reported_at_once(validator: RowValidator) -> None:
    result = run(validator, name="李 明", sex="X", birth_date="2018", phone="123")
    assert {(e.key, e.kind) for e in result.errors} == {
        ("name", "name_space"),
        ("sex", "code_unknown"),
        ("birth_date", "date_invalid"),
        ("phone", "phone"),
    }
    assert all(e.header in e.message for e in result.errors)


def test_error_keeps_the_raw_value_as_given(validator: RowValidator) -> None:
    error = only_error(run(validator, phone=" 123 "), "phone", "phone")
    assert error.value == " 123 "
    assert error.header == "联系电话"


def test_unhashable_cell_is_read_as_text(validator: RowValidator) -> None:
    only_error(run(validator, phone=["138"]), "phone", "phone")


# -- required columns ----------------------------------------------------------------

REQUIRED = [c.key for c in COLUMNS if c.required and c.key != "id_number"]


@pytest.mark.parametrize("key", REQUIRED)
@pytest.mark.parametrize("empty", ["", "   ", None, float("nan"), "missing"])
def test_required_column_empty(validator: RowValidator, key: str, empty: object) -> None:
    row = valid_row()
    if empty == "missing":
        del row[key]
    else:
        row[key] = empty
    result = validator.validate(row)
    assert ("required", True) in [
        (e.kind, e.header == BY_KEY[key].header and e.header in e.message)
        for e in errors_of(result, key)
    ]
    assert result.data[key] is None


def test_empty_row_reports_every_required_column(validator: RowValidator) -> None:
    result = validator.validate({})
    required = {e.key for e in result.errors if e.kind == "required"}
    assert required == {c.key for c in COLUMNS if c.required}
    assert {(e.key, e.kind) for e in result.errors} >= {
        ("member1", "member_missing"),
        ("member2", "member_missing"),
        ("row", "member_guardian"),
    }
    assert all(value is None for value in result.data.values())


def test_id_number_required_for_resident_id(validator: RowValidator) -> None:
    error = only_error(run(validator, id_number=""), "id_number", "required")
    assert "其他" in error.message


def test_id_number_may_be_empty_for_type_other(validator: RowValidator) -> None:
    result = run(validator, id_type="其他", id_number="")
    assert result.errors == []
    assert (result.data["id_type"], result.data["id_number"]) == ("Z", None)


# -- resident ID numbers (domain.md §2.2) --------------------------------------------


def _id_row(number: str) -> dict[str, object]:
    """Birth date and sex taken from the ID, so only the ID's own rules can fail."""
    return valid_row(
        id_number=number,
        birth_date=number[6:14],
        sex="男" if int(number[16]) % 2 else "女",
    )


@pytest.mark.parametrize(
    "number", ["11010519491231002X", "440524188001010014", "360426199101010071"]
)
def test_public_id_vectors_are_valid(validator: RowValidator, number: str) -> None:
    result = validator.validate(_id_row(number))
    assert errors_of(result, "id_number") == []
    assert result.data["id_number"] == number


def test_public_invalid_id_vector(validator: RowValidator) -> None:
    result = validator.validate(_id_row("360426199101010072"))
    assert kinds_of(result, "id_number") == ["id_check_digit"]
    error = errors_of(result, "id_number")[0]
    assert error.message == (
        "身份证件号校验位不符：号码中有录入错误，不一定在最后一位。请对照户口簿或身份证件逐位核对。"
    )
    assert error.value == "360426199101010072"


def test_lower_case_x_is_accepted_and_normalised(validator: RowValidator) -> None:
    result = validator.validate(_id_row("11010519491231002x"))
    assert errors_of(result, "id_number") == []
    assert result.data["id_number"] == "11010519491231002X"


def test_sex_must_agree_with_position_17(validator: RowValidator) -> None:
    error = only_error(run(validator, sex="女"), "id_number", "id_sex_mismatch")
    assert "性别" in error.message


def test_birth_date_must_agree_with_positions_7_to_14(validator: RowValidator) -> None:
    error = only_error(run(validator, birth_date="20170902"), "id_number", "id_birth_mismatch")
    assert "出生日期" in error.message
    assert "20170901" in error.message


@pytest.mark.parametrize("birth", ["20171301", "20170230", "20990101"])
def test_birth_date_in_id_must_be_a_real_past_date(validator: RowValidator, birth: str) -> None:
    first17 = f"430181{birth}001"
    number = first17 + ric.calc_check_digit(first17 + "0")
    result = run(validator, id_number=number)
    assert kinds_of(result, "id_number") == ["id_birth_invalid"]
    assert birth in errors_of(result, "id_number")[0].message


@pytest.mark.parametrize(
    "number", ["43018120170901001", "4301812017090100111", "43018120170901001Y"]
)
def test_resident_id_format(validator: RowValidator, number: str) -> None:
    only_error(run(validator, id_number=number), "id_number", "id_format")


def test_historical_birthplace_code_is_accepted(validator: RowValidator) -> None:
    # 6 digits of a county that no longer exists: only the check character counts.
    number = resident_id(dt.date(2017, 9, 1), 1, county="439999")
    assert run(validator, id_number=number).errors == []


@pytest.mark.parametrize(
    "cell", [4.30181201709e17, "4.30181E+17", "4.30181e17", 430181201709010000]
)
def test_id_number_stored_as_a_number(validator: RowValidator, cell: object) -> None:
    error = only_error(run(validator, id_number=cell), "id_number", "id_number_as_number")
    assert "文本" in error.message


@pytest.mark.parametrize(("id_type", "number"), [("护照", "E12345678"), ("8", "H1234567(8)")])
def test_other_id_types(validator: RowValidator, id_type: str, number: str) -> None:
    result = run(validator, id_type=id_type, id_number=number)
    assert result.errors == []
    assert result.data["id_number"] == number.upper()


def test_other_id_type_format(validator: RowValidator) -> None:
    only_error(run(validator, id_type="护照", id_number="E1"), "id_number", "id_format")


# -- normalisation -------------------------------------------------------------------


def test_full_width_digits_and_stray_spaces_are_normalised(validator: RowValidator) -> None:
    row = valid_row()
    number = str(row["id_number"])
    result = run(
        validator,
        name=" 李明 ",
        id_number=" " + full_width(number[:6]) + " " + full_width(number[6:]) + " ",
        birth_date="２０１７ ０９ ０１",
        birthplace="４３０１８１１０８２０１",
        household_region=" 430181 108 201 ",
        class_no="２０２４１０１",
        entry_year_month=" ２０２４０９ ",
        phone=" 138 0000 0000 ",
        postcode=" 410 300 ",
        native_place="  湖南浏阳 ",
        ethnicity="汉 族",
        nationality="ｃｈｎ",
        number_in_class="０１",
    )
    assert result.errors == []
    data = result.data
    assert data["name"] == "李明"
    assert data["id_number"] == number
    assert data["birth_date"] == dt.date(2017, 9, 1)
    assert data["birthplace"] == data["household_region"] == "430181108201"
    assert data["class_no"] == "2024101"
    assert data["entry_year_month"] == "202409"
    assert data["phone"] == "13800000000"
    assert data["postcode"] == "410300"
    assert data["native_place"] == "湖南浏阳"
    assert (data["ethnicity"], data["nationality"]) == ("01", "CHN")
    assert data["number_in_class"] == 1


def test_excel_number_cells_become_digit_strings(validator: RowValidator) -> None:
    result = run(
        validator,
        birth_date=20170901.0,
        class_no=2024101,
        entry_year_month=202409.0,
        postcode=410300,
        phone=13800000000.0,
        birthplace=430181108201,
        number_in_class=3.0,
        distance_km=1.5,
        ethnicity=1,
        sex=1,
        only_child=0,
    )
    assert result.errors == []
    data = result.data
    assert data["birth_date"] == dt.date(2017, 9, 1)
    assert (data["class_no"], data["entry_year_month"]) == ("2024101", "202409")
    assert (data["postcode"], data["phone"]) == ("410300", "13800000000")
    assert data["birthplace"] == "430181108201"
    assert data["number_in_class"] == 3
    assert data["distance_km"] == Decimal("1.50")
    assert (data["ethnicity"], data["sex"], data["only_child"]) == ("01", "1", False)


# -- dates ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        "20170901",
        "2017-09-01",
        "2017/9/1",
        "2017.09.01",
        "2017年9月1日",
        dt.date(2017, 9, 1),
        dt.datetime(2017, 9, 1, 0, 0),  # noqa: DTZ001 - what openpyxl hands over
        # What Excel and WPS write when a date cell is saved as text or as CSV.
        "2017-09-01 00:00:00",
        "2017/9/1 0:00",
        "2017-09-01T08:30:00",
        "20170901 00:00",
        "２０１７－０９－０１ ００:００:００",
        "42979",  # the date serial in a CSV column
        "42979.0",
        "42979.5",  # with the time of day as a fraction
        42979,  # a serial in a cell formatted "General"
    ],
)
def test_birth_date_forms(validator: RowValidator, cell: object) -> None:
    result = run(validator, birth_date=cell)
    assert result.errors == []
    assert result.data["birth_date"] == dt.date(2017, 9, 1)


@pytest.mark.parametrize(
    ("cell", "kind"),
    [
        ("20170230", "date_invalid"),
        ("2017091", "date_invalid"),
        ("2017-9", "date_invalid"),
        (20170901.5, "date_invalid"),
        ("20250302", "date_future"),
        ("2017-09-01 25", "date_invalid"),
        ("4297", "date_invalid"),
        ("429790", "date_invalid"),
    ],
)
def test_birth_date_invalid(validator: RowValidator, cell: object, kind: str) -> None:
    result = run(validator, birth_date=cell)
    assert kinds_of(result, "birth_date") == [kind]
    assert "出生日期" in errors_of(result, "birth_date")[0].message


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("01/09/2017", "日/月/年还是月/日/年"),
        ("1.9.2017", "日/月/年还是月/日/年"),
        ("170901", "两位年份"),
        ("17-09-01", "两位年份"),
    ],
)
def test_ambiguous_dates_say_why(validator: RowValidator, cell: str, why: str) -> None:
    """Forms a person may mean two ways are never guessed: the message says why."""
    result = run(validator, birth_date=cell)
    assert kinds_of(result, "birth_date") == ["date_invalid"]
    message = errors_of(result, "birth_date")[0].message
    assert why in message
    assert cell in message
    assert "20180301" in message


# -- normalisations are reported ------------------------------------------------------


def test_a_clean_row_reports_no_normalisation(validator: RowValidator) -> None:
    assert run(validator).normalised == []


def test_every_correction_is_reported_with_before_and_after(validator: RowValidator) -> None:
    row = valid_row(1)
    id_number, birth = str(row["id_number"]), str(row["birth_date"])
    dashed = f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"
    overrides = {
        "birth_date": f"{dashed} 00:00:00",
        "entry_year_month": "2024-9",
        "name": " 张小明 ",
        "current_address": "  长沙市  ",
        "postcode": full_width("410300"),
    }
    if id_number.endswith("X"):
        overrides["id_number"] = id_number[:-1] + "x"
    result = run(validator, 1, **overrides)
    assert result.errors == []
    seen = {n.key: (n.before, n.after) for n in result.normalised}
    assert seen["birth_date"] == (f"{dashed} 00:00:00", birth)
    assert seen["entry_year_month"] == ("2024-9", "202409")
    assert seen["name"] == (" 张小明 ", "张小明")
    assert seen["current_address"] == ("  长沙市  ", "长沙市")
    assert seen["postcode"] == (full_width("410300"), "410300")
    if "id_number" in overrides:
        assert seen["id_number"] == (overrides["id_number"], id_number)
    assert all(n.header == BY_KEY[n.key].header for n in result.normalised)


def test_a_repeated_correction_is_reported_on_every_row(validator: RowValidator) -> None:
    """The memo of repeated cells must not swallow the second row's correction."""
    birth = str(valid_row(1)["birth_date"])
    slashed = f"{birth[:4]}/{birth[4:6]}/{birth[6:]}"
    first = run(validator, 1, birth_date=slashed)
    second = run(validator, 1, birth_date=slashed)
    assert [n.key for n in first.normalised] == ["birth_date"]
    assert [n.key for n in second.normalised] == ["birth_date"]


def test_code_labels_are_readings_not_corrections(validator: RowValidator) -> None:
    result = run(validator, ethnicity="汉族", sex="男")
    assert result.errors == []
    assert result.normalised == []


# -- code tables ---------------------------------------------------------------------

CODE_COLUMNS = [c.key for c in COLUMNS if c.kind == "code"]


@pytest.mark.parametrize("key", CODE_COLUMNS)
def test_every_code_table_accepts_code_and_label(validator: RowValidator, key: str) -> None:
    code_table = BY_KEY[key].code_table
    assert code_table is not None
    for code, label in table(code_table).codes:
        for cell in (code, label):
            result = run(validator, **{key: cell})  # type: ignore[arg-type]
            assert errors_of(result, key) == [], (key, cell)
            assert result.data[key] == code, (key, cell)


@pytest.mark.parametrize(
    ("key", "cell"),
    [("health", "很好"), ("nationality", "火星"), ("sex", "X"), ("m1_relation", "邻居")],
)
def test_unknown_code(validator: RowValidator, key: str, cell: str) -> None:
    error = only_error(run(validator, **{key: cell}), key, "code_unknown")  # type: ignore[arg-type]
    assert cell in error.message


@pytest.mark.parametrize(("cell", "code"), [("男", "1"), ("女", "2"), ("1", "1"), ("2", "2")])
def test_sex_accepts_label_and_code(validator: RowValidator, cell: str, code: str) -> None:
    result = run(validator, sex=cell)
    assert errors_of(result, "sex") == []
    assert result.data["sex"] == code


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        ("汉族", "01"),
        ("01", "01"),
        ("1", "01"),
        ("崩龙族", "46"),  # old name of 德昂族
        ("毛难族", "36"),  # old name of 毛南族
        ("其他", "97"),
        ("外国血统中国籍人士", "98"),
    ],
)
def test_ethnicity_accepted_forms(validator: RowValidator, cell: str, code: str) -> None:
    result = run(validator, ethnicity=cell)
    assert result.errors == []
    assert result.data["ethnicity"] == code


def test_ethnicity_without_suffix(validator: RowValidator) -> None:
    error = only_error(run(validator, ethnicity="汉"), "ethnicity", "ethnicity_suffix")
    assert error.message == "民族须填写全称，以“族”结尾，如“汉族”。"
    error = only_error(run(validator, ethnicity="苗"), "ethnicity", "ethnicity_suffix")
    assert "苗族" in error.message
    error = only_error(run(validator, m1_ethnicity="汉"), "m1_ethnicity", "ethnicity_suffix")
    assert error.header == "成员1民族"


def test_ethnicity_unknown_with_suffix(validator: RowValidator) -> None:
    only_error(run(validator, ethnicity="火星族"), "ethnicity", "code_unknown")


# -- names ---------------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["李 明", "李\u3000明", "买买提 阿不都"])
def test_name_with_inner_space(validator: RowValidator, cell: str) -> None:
    error = only_error(run(validator, name=cell), "name", "name_space")
    assert error.message == "姓名中间不能有空格。"


@pytest.mark.parametrize("dot", ["·", "•", "・", "‧", "．", "."])
def test_name_middle_dot_variants(validator: RowValidator, dot: str) -> None:
    result = run(validator, name=f"买买提{dot}阿不都热依木")
    assert result.errors == []
    assert result.data["name"] == "买买提·阿不都热依木"


@pytest.mark.parametrize("cell", ["李明", "欧阳娜娜", "Tom", "𠀀明"])
def test_name_accepted(validator: RowValidator, cell: str) -> None:
    assert run(validator, name=cell).errors == []


@pytest.mark.parametrize(
    ("cell", "kind"),
    [
        ("李", "name_length"),
        ("李" * 51, "name_length"),
        ("李3", "name_chars"),
        ("·李明", "name_chars"),
        ("李明·", "name_chars"),
        ("李··明", "name_chars"),
        ("李(明)", "name_chars"),
    ],
)
def test_name_invalid(validator: RowValidator, cell: str, kind: str) -> None:
    only_error(run(validator, name=cell), "name", kind)


def test_former_and_member_names_follow_the_same_rules(validator: RowValidator) -> None:
    error = only_error(run(validator, former_name="李 小"), "former_name", "name_space")
    assert error.message == "曾用名中间不能有空格。"
    error = only_error(run(validator, m1_name="王 五"), "m1_name", "name_space")
    assert error.header == "成员1姓名"
    assert run(validator, former_name="李小明").data["former_name"] == "李小明"


# -- class, entry year-month, age and grade --------------------------------------------


def _pupil(birth: dt.date, class_no: str, grade: str, **overrides: object) -> dict[str, object]:
    return valid_row(
        birth_date=f"{birth:%Y%m%d}",
        id_number=resident_id(birth, 1),
        sex="男",
        class_no=class_no,
        grade=grade,
        **overrides,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("class_no", "birth", "age"),
    [
        ("2024101", dt.date(2019, 10, 1), 4),
        ("2024101", dt.date(2014, 9, 1), 10),
        ("2024201", dt.date(2015, 1, 1), 9),
        ("2024201", dt.date(2007, 9, 1), 17),
        ("2024301", dt.date(2012, 1, 1), 12),
        ("2024301", dt.date(2003, 9, 1), 21),
    ],
)
def test_age_out_of_stage_range(
    validator: RowValidator, class_no: str, birth: dt.date, age: int
) -> None:
    stage = {"1": ("小学", "5–9"), "2": ("初中", "10–16"), "3": ("高中", "13–20")}[class_no[4]]
    grade = f"{stage[0]}2024级"
    error = only_error(
        validator.validate(_pupil(birth, class_no, grade)), "birth_date", "age_range"
    )
    assert f"{age}岁" in error.message
    assert stage[1] in error.message
    assert stage[0] in error.message


@pytest.mark.parametrize(
    ("class_no", "birth"),
    [
        ("2024101", dt.date(2018, 9, 1)),  # 6
        ("2024101", dt.date(2014, 9, 2)),  # 9 on 1 September 2024
        ("2024201", dt.date(2012, 9, 1)),  # 12
        ("2024301", dt.date(2009, 9, 1)),  # 15
    ],
)
def test_age_within_stage_range(validator: RowValidator, class_no: str, birth: dt.date) -> None:
    grade = {"1": "小学2024级", "2": "初中2024级", "3": "高中2024级"}[class_no[4]]
    assert validator.validate(_pupil(birth, class_no, grade)).errors == []


def test_class_entry_year_must_match_entry_year_month(validator: RowValidator) -> None:
    result = run(validator, class_no="2023101", grade="小学2023级")
    error = only_error(result, "entry_year_month", "class_entry_mismatch")
    assert "班级编号的入学年份与入学年月不一致" in error.message


@pytest.mark.parametrize("cell", ["202410", "2024401", "2024100", "1980101", "2027101", "20241O1"])
def test_class_no_format(validator: RowValidator, cell: str) -> None:
    result = run(validator, class_no=cell)
    assert kinds_of(result, "class_no") == ["class_no"]
    assert "班级" in errors_of(result, "class_no")[0].message


def test_class_must_exist_when_the_school_list_is_given(db: None) -> None:
    result = RowValidator(today=TODAY, class_nos={"2024102"}).validate(valid_row())
    error = only_error(result, "class_no", "class_unknown")
    assert "学校没有班级“2024101”，请先建立班级" in error.message
    assert RowValidator(today=TODAY, class_nos={"2024101"}).validate(valid_row()).errors == []


@pytest.mark.parametrize("cell", ["2024-09", "2024/9", "2024年9月", "2024.09", dt.date(2024, 9, 1)])
def test_entry_year_month_forms(validator: RowValidator, cell: object) -> None:
    result = run(validator, entry_year_month=cell)
    assert result.errors == []
    assert result.data["entry_year_month"] == "202409"


@pytest.mark.parametrize("cell", ["202413", "202400", "20249", 2024.1])
def test_entry_year_month_format(validator: RowValidator, cell: object) -> None:
    only_error(run(validator, entry_year_month=cell), "entry_year_month", "entry_ym")


def test_entry_year_month_at_most_three_months_ahead(validator: RowValidator) -> None:
    # registering in June for the September intake is normal practice
    assert RowValidator(today=dt.date(2024, 6, 15)).validate(valid_row()).errors == []
    result = RowValidator(today=dt.date(2024, 5, 31)).validate(valid_row())
    assert kinds_of(result, "entry_year_month") == ["entry_ym"]
    assert "三个月以后" in errors_of(result, "entry_year_month")[0].message


def test_entry_year_month_not_before_birth_year_plus_3(validator: RowValidator) -> None:
    result = run(validator, entry_year_month="201909", class_no="2019101", grade="小学2019级")
    assert "entry_ym" in kinds_of(result, "entry_year_month")
    assert any("出生年份加3年" in e.message for e in errors_of(result, "entry_year_month"))


@pytest.mark.parametrize("cell", ["一年级", "1年级", "小学一年级", "小学2024级"])
def test_grade_ordinal_is_stored_in_derived_form(validator: RowValidator, cell: str) -> None:
    result = run(validator, grade=cell)
    assert result.errors == []
    assert result.data["grade"] == "小学2024级"


@pytest.mark.parametrize(
    ("class_no", "birth", "cell", "stored"),
    [
        ("2024201", dt.date(2012, 9, 1), "初一", "初中2024级"),
        ("2024201", dt.date(2012, 9, 1), "七年级", "初中2024级"),
        ("2024301", dt.date(2009, 9, 1), "高一", "高中2024级"),
    ],
)
def test_grade_ordinals_of_junior_and_senior(
    validator: RowValidator, class_no: str, birth: dt.date, cell: str, stored: str
) -> None:
    result = validator.validate(_pupil(birth, class_no, cell))
    assert result.errors == []
    assert result.data["grade"] == stored


def test_grade_ordinal_follows_the_school_year(db: None) -> None:
    # From 1 September 2025 class 2024101 is in 二年级.
    later = RowValidator(today=dt.date(2025, 9, 1))
    assert later.validate(valid_row(grade="二年级")).data["grade"] == "小学2024级"
    only_error(later.validate(valid_row(grade="一年级")), "grade", "grade")


@pytest.mark.parametrize("cell", ["二年级", "七年级", "初一", "小学2023级", "初中2024级"])
def test_grade_disagreeing_with_class(validator: RowValidator, cell: str) -> None:
    error = only_error(run(validator, grade=cell), "grade", "grade")
    assert "2024101" in error.message
    assert "小学2024级" in error.message


@pytest.mark.parametrize("cell", ["幼儿园", "2024级", "十年级"])
def test_grade_unrecognised(validator: RowValidator, cell: str) -> None:
    only_error(run(validator, grade=cell), "grade", "grade")


# -- division codes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "cell", "kind", "start"),
    [
        ("birthplace", "430181999201", "region_unknown", "出生地：行政区划代码的前9位"),
        ("household_region", "43018110820", "region_format", "户口所在地：行政区划代码应为12位"),
        ("birthplace", "430181108400", "region_village", "出生地：行政区划代码的后3位"),
        ("m1_household_region", "439999000000", "region_unknown", "成员1户口所在地："),
    ],
)
def test_region_codes(validator: RowValidator, key: str, cell: str, kind: str, start: str) -> None:
    error = only_error(run(validator, **{key: cell}), key, kind)  # type: ignore[arg-type]
    assert error.message.startswith(start)


def test_region_code_of_a_county_itself(validator: RowValidator) -> None:
    assert run(validator, birthplace="430181000000").errors == []


# 宁乡县 430124 became 宁乡市 430182 in 2017, its 道林镇 430124101 is 430182101
# (domain.md §2.2: versioned divisions).
FORMER_VILLAGE = "430124101201"


@pytest.mark.parametrize("key", ["birthplace", "household_region", "m1_household_region"])
def test_a_former_code_is_refused_on_a_new_record_naming_its_replacement(
    validator: RowValidator, key: str
) -> None:
    error = only_error(run(validator, **{key: FORMER_VILLAGE}), key, "region_former")  # type: ignore[arg-type]
    assert error.message == (
        f"{BY_KEY[key].header}：行政区划代码的前9位“430124101”（道林镇）已不在现行区划表中"
        "（2017年仍在使用），现为“430182101”（道林镇），请改用新代码。"
    )


def test_a_former_code_is_kept_on_a_record_from_when_it_was_valid(db: None) -> None:
    old = RowValidator(today=TODAY, record_date=dt.date(2016, 9, 1))
    assert run(old, birthplace=FORMER_VILLAGE, household_region="430124000000").errors == []
    # the memo of an old record's validator does not leak into a new record's
    assert only_error(
        run(RowValidator(today=TODAY), birthplace=FORMER_VILLAGE), "birthplace", "region_former"
    )


def test_former_codes_cost_no_query_per_row(db: None) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # the importer's speed rests on this: the caches are loaded once, each cell is a probe
    old = RowValidator(today=TODAY, record_date=dt.date(2016, 9, 1))
    new = RowValidator(today=TODAY)
    with CaptureQueriesContext(connection) as captured:
        for seq in range(20):
            assert run(old, seq, birthplace=FORMER_VILLAGE).errors == []
            assert run(new, seq, birthplace=FORMER_VILLAGE).errors[0].kind == "region_former"
    assert captured.captured_queries == []


def test_a_former_code_is_refused_on_a_record_from_after_it_was_abolished(db: None) -> None:
    later = RowValidator(today=TODAY, record_date=dt.date(2018, 9, 1))
    error = only_error(run(later, birthplace=FORMER_VILLAGE), "birthplace", "region_former")
    assert "现为“430182101”（道林镇）" in error.message
    # an unknown code stays unknown, whatever the record's date
    only_error(run(later, birthplace="439999000000"), "birthplace", "region_unknown")


# -- phone, postcode, e-mail, numbers, ID validity, yes/no, length ----------------------------


@pytest.mark.parametrize(
    ("cell", "stored"),
    [
        ("13812345678", "13812345678"),
        ("19912345678", "19912345678"),
        ("0731-83456789", "0731-83456789"),
        ("073183456789", "073183456789"),
        ("010-12345678", "010-12345678"),
        ("0731-83456789-123", "0731-83456789-123"),
        ("０７３１－８３４５６７８９", "0731-83456789"),
    ],
)
def test_phone_valid(validator: RowValidator, cell: str, stored: str) -> None:
    result = run(validator, phone=cell, m1_phone=cell)
    assert result.errors == []
    assert result.data["phone"] == result.data["m1_phone"] == stored


@pytest.mark.parametrize("cell", ["12812345678", "1381234567", "83456789", "0731-834", "电话"])
def test_phone_invalid(validator: RowValidator, cell: str) -> None:
    only_error(run(validator, phone=cell), "phone", "phone")


@pytest.mark.parametrize("cell", ["41030", "4103000", "41030a"])
def test_postcode_invalid(validator: RowValidator, cell: str) -> None:
    only_error(run(validator, postcode=cell), "postcode", "postcode")


@pytest.mark.parametrize(
    "cell", ["parent@example.com", "ｐａｒｅｎｔ＠ｅｘａｍｐｌｅ．ｃｏｍ", " parent@example.com "]
)
def test_email_valid(validator: RowValidator, cell: str) -> None:
    result = run(validator, email=cell)
    assert result.errors == []
    assert result.data["email"] == "parent@example.com"


@pytest.mark.parametrize("cell", ["parent@", "parent example@x.com", "@x.com", "parent@x"])
def test_email_invalid(validator: RowValidator, cell: str) -> None:
    only_error(run(validator, email=cell), "email", "email")


@pytest.mark.parametrize(("cell", "stored"), [("03", 3), (12, 12), (7.0, 7)])
def test_number_in_class_valid(validator: RowValidator, cell: object, stored: int) -> None:
    assert run(validator, number_in_class=cell).data["number_in_class"] == stored


@pytest.mark.parametrize("cell", ["0", "-1", "abc", "1.5", 1.5, 40000])
def test_number_in_class_invalid(validator: RowValidator, cell: object) -> None:
    only_error(run(validator, number_in_class=cell), "number_in_class", "int")


@pytest.mark.parametrize(
    ("cell", "stored"), [("1.5", "1.50"), ("3公里", "3.00"), ("0", "0.00"), ("200", "200.00")]
)
def test_distance_valid(validator: RowValidator, cell: str, stored: str) -> None:
    assert run(validator, distance_km=cell).data["distance_km"] == Decimal(stored)


@pytest.mark.parametrize("cell", ["201", "-1", "abc", "nan", "Infinity"])
def test_distance_invalid(validator: RowValidator, cell: str) -> None:
    only_error(run(validator, distance_km=cell), "distance_km", "decimal")


@pytest.mark.parametrize(
    "cell",
    ["20240301-20290301", "2024.03.01-2029.03.01", "2024-03-01-2029-03-01", "2024.3.1－2029.3.1"],
)
def test_id_validity_forms(validator: RowValidator, cell: str) -> None:
    result = run(validator, id_validity=cell)
    assert result.errors == []
    assert result.data["id_validity"] == "20240301-20290301"


@pytest.mark.parametrize(
    "cell", ["20290301-20240301", "20240301-20240301", "20240230-20290301", "2024", "长期"]
)
def test_id_validity_invalid(validator: RowValidator, cell: str) -> None:
    only_error(run(validator, id_validity=cell), "id_validity", "id_validity")


@pytest.mark.parametrize(
    ("cell", "stored"),
    [
        ("是", True),
        ("否", False),
        ("1", True),
        ("0", False),
        ("Y", True),
        ("n", False),
        ("true", True),
        ("FALSE", False),
        (1, True),
        (0.0, False),
        (True, True),
    ],
)
def test_yes_no(validator: RowValidator, cell: object, stored: bool) -> None:
    result = run(validator, only_child=cell)
    assert result.errors == []
    assert result.data["only_child"] is stored


def test_yes_no_invalid(validator: RowValidator) -> None:
    only_error(run(validator, only_child="可能"), "only_child", "yesno")


@pytest.mark.parametrize(("key", "limit"), [("native_place", 50), ("current_address", 200)])
def test_max_length(validator: RowValidator, key: str, limit: int) -> None:
    assert run(validator, **{key: "湖" * limit}).errors == []  # type: ignore[arg-type]
    error = only_error(run(validator, **{key: "湖" * (limit + 1)}), key, "max_length")  # type: ignore[arg-type]
    assert str(limit) in error.message


# -- family members (domain.md §2.3–2.4) ------------------------------------------------


def test_member_needs_name(validator: RowValidator) -> None:
    error = only_error(run(validator, m2_name=""), "member2", "member_missing")
    assert error.header == "成员2"
    assert "姓名" in error.message


def test_member_needs_name_and_relation(validator: RowValidator) -> None:
    result = run(validator, m1_name="", m1_relation=" ")
    error = only_error(result, "member1", "member_missing")
    assert "姓名和关系" in error.message


def test_member_id_check_digit(validator: RowValidator) -> None:
    number = str(valid_row()["m1_id_number"])
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    error = only_error(run(validator, m1_id_number=wrong), "m1_id_number", "id_check_digit")
    assert error.message.startswith("成员1身份证件号校验位不符")
    assert "应为" not in error.message


def test_member_id_without_type_is_checked_when_18_characters(validator: RowValidator) -> None:
    number = str(valid_row()["m2_id_number"])
    assert run(validator, m2_id_type="").errors == []
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    only_error(run(validator, m2_id_type="", m2_id_number=wrong), "m2_id_number", "id_check_digit")


def test_member_id_needs_a_type_when_not_a_resident_id(validator: RowValidator) -> None:
    error = only_error(
        run(validator, m2_id_type="", m2_id_number="E12345678"), "m2_id_type", "required"
    )
    assert error.header == "成员2身份证件类型"


def test_member_id_birth_date_is_not_compared(validator: RowValidator) -> None:
    # A member's ID is checked on its own: there is no member birth date to compare.
    number = resident_id(dt.date(1960, 2, 29), 3)
    assert run(validator, m1_id_number=number).errors == []


def test_student_without_id_needs_a_member_with_a_resident_id(validator: RowValidator) -> None:
    no_id = {"id_type": "其他", "id_number": ""}
    passports = {
        "m1_id_type": "护照",
        "m1_id_number": "E12345678",
        "m2_id_type": "护照",
        "m2_id_number": "E87654321",
    }
    error = only_error(run(validator, **no_id, **passports), "row", "member_id_required")  # type: ignore[arg-type]
    assert error.header == "家庭成员"
    # One member with a valid resident ID is enough.
    assert (
        run(
            validator,
            **no_id,  # type: ignore[arg-type]
            **{
                **passports,
                "m2_id_type": "居民身份证",
                "m2_id_number": valid_row()["m2_id_number"],
            },
        ).errors
        == []
    )
    # An invalid one is not.
    number = str(valid_row()["m1_id_number"])
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    result = run(validator, **no_id, **{**passports, "m1_id_type": "1", "m1_id_number": wrong})  # type: ignore[arg-type]
    assert {(e.key, e.kind) for e in result.errors} == {
        ("m1_id_number", "id_check_digit"),
        ("row", "member_id_required"),
    }
    # Members without any ID number at all.
    result = run(validator, **no_id, m1_id_type="", m1_id_number="", m2_id_type="", m2_id_number="")  # type: ignore[arg-type]
    only_error(result, "row", "member_id_required")


@pytest.mark.parametrize(("first", "second"), [("否", "否"), ("", ""), ("否", "")])
def test_a_member_must_be_guardian(validator: RowValidator, first: str, second: str) -> None:
    result = run(validator, m1_is_guardian=first, m2_is_guardian=second)
    error = only_error(result, "row", "member_guardian")
    assert "监护人" in error.message


def test_one_guardian_is_enough(validator: RowValidator) -> None:
    assert run(validator, m1_is_guardian="否", m2_is_guardian="是").errors == []
