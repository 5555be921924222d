"""招生 consistency inside one school (issue 18 point 4, domain §3.2 step 10, §3.10): the
county's admitted list of an intake, its diff against the registry, the county's
exceptions, and the rule the registry asks before it registers a new intake pupil.

The list is published by the county (shared_apps.bureau through rosters.facade): its
file is staged as an upload of the `admissions` source, read, mapped and checked by the
staging's own code (rosters.services.upload_stage, i.e. the registry's RowValidator),
then its pupils' key fields are kept as AdmittedPupil rows. An intake is a (stage,
entry year): the primary grade 1 or the junior grade 7 of that year, i.e. the classes
of that stage and entry year. The block applies only to an intake the county has
published a list for: without a list nothing is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from common.actor import Actor
from common.exceptions import ApplicationError
from shared_apps.student_index.keys import IdentityKeys, id_digest, identity_keys
from tenant_apps.rosters.diff import Diff, Person, roster_diff
from tenant_apps.rosters.models import (
    AdmissionList,
    AdmissionOverride,
    AdmittedPupil,
    RosterSource,
    RosterUpload,
    StagedRow,
)

STAGE_LABELS = dict(AdmissionList.Stage.choices)
# Students no longer on the roll are not compared: 退学, 转出, 死亡 (registry's GONE).
GONE_STATUSES = ("03", "10", "11")
ID_CROSS_CHECKS = frozenset({"id_birth_mismatch", "id_sex_mismatch"})
MSG_STAGE = "学段只能是小学一年级或初中七年级。"
MSG_YEAR = "入学年份应为2000至2100之间的四位年份。"
MSG_OVERRIDE_WHO = "请填写该生的身份证件号；没有身份证件号的，请填写姓名、性别和出生日期。"
MSG_OVERRIDE_REASON = "请填写开具例外的原因。"
MSG_REVOKE_REASON = "请填写撤销例外的原因。"
MSG_OVERRIDE_GONE = "该例外已撤销或不存在。"
MSG_NO_ROWS = "录取名单中没有可读取的学生（每行至少要有姓名）。"


def intake_label(stage: str, entry_year: int) -> str:
    return f"{entry_year}级{STAGE_LABELS.get(stage, stage)}"


def intake_check(stage: str, entry_year: object) -> int:
    if stage not in STAGE_LABELS:
        raise ApplicationError(MSG_STAGE, code="invalid", extra={"stage": [MSG_STAGE]})
    try:
        year = int(str(entry_year).strip())
    except ValueError:
        year = 0
    if not 2000 <= year <= 2100:
        raise ApplicationError(MSG_YEAR, code="invalid", extra={"entry_year": [MSG_YEAR]})
    return year


# -- the lists ----------------------------------------------------------------------------


def list_current(stage: str, entry_year: int) -> AdmissionList | None:
    return (
        AdmissionList.objects.select_related("upload")
        .filter(stage=stage, entry_year=entry_year)
        .order_by("-published_at")
        .first()
    )


def lists_in_force() -> dict[tuple[str, int], int]:
    """{(stage, entry year): id of its newest list}."""
    out: dict[tuple[str, int], int] = {}
    for pk, stage, year in AdmissionList.objects.order_by("published_at").values_list(
        "pk", "stage", "entry_year"
    ):
        out[(stage, year)] = pk
    return out


def _pupil_of(row: StagedRow, data: Mapping[str, Any], bad: set[str]) -> AdmittedPupil | None:
    def good(key: str) -> Any:
        value = data.get(key)
        return value if value not in (None, "") and key not in bad else None

    name = good("name") or str(row.cells.get("name") or "").strip()
    if not name:
        return None
    birth = good("birth_date")
    return AdmittedPupil(
        row_no=row.row_no,
        name=str(name)[:50],
        sex=str(good("sex") or "")[:1],
        birth_date=birth if isinstance(birth, dt.date) else None,
        id_number=str(good("id_number") or "")[:30],
        place=f"{row.grade_text}{row.class_text}"[:100],
    )


def _staged_pupils(upload: RosterUpload) -> tuple[list[AdmittedPupil], int]:
    """The key fields of an upload's staged rows as the registry's validation reads them
    (repeated rows left out), and how many rows had no name to go by."""
    from tenant_apps.registry.students.services import class_map
    from tenant_apps.registry.validation.rows import RowValidator

    validator = RowValidator(class_nos=set(class_map()))
    pupils: list[AdmittedPupil] = []
    skipped = 0
    for row in upload.rows.exclude(state=StagedRow.State.REPEATED).order_by("row_no"):
        result = validator.validate(row.cells)
        # An ID number that disagrees with the birth date or sex is still the number
        # given: kept, so the pair is found by it and the other field shows as differing.
        bad = {e.key for e in result.errors if e.kind not in ID_CROSS_CHECKS}
        pupil = _pupil_of(row, result.data, bad)
        if pupil is None:
            skipped += 1
        else:
            pupils.append(pupil)
    return pupils, skipped


@transaction.atomic
def list_publish(
    *, stage: str, entry_year: int, filename: str, data: bytes, actor: Actor
) -> AdmissionList:
    """Stage the county's file for this school and keep its pupils' key fields as the
    intake's list in force. Read and checked by the staging's own code; a key field
    its validation refuses is kept empty (the diff then shows it as not matching)."""
    from tenant_apps.rosters.services import upload_stage

    year = intake_check(stage, entry_year)
    upload = upload_stage(
        kind=RosterSource.Kind.ADMISSIONS, filename=filename, data=data, actor=actor
    )
    pupils, skipped = _staged_pupils(upload)
    if not pupils:
        raise ApplicationError(MSG_NO_ROWS, code="invalid", extra={"file": [MSG_NO_ROWS]})
    admission = AdmissionList.objects.create(
        upload=upload,
        stage=stage,
        entry_year=year,
        published_by=actor.label[:80],
        counts={
            "rows": int(upload.counts.get("total") or 0),
            "admitted": len(pupils),
            "unreadable": skipped,
        },
    )
    for p in pupils:
        p.admission_list = admission
    AdmittedPupil.objects.bulk_create(pupils, batch_size=2000)
    return admission


def _person(p: AdmittedPupil) -> Person:
    return Person(f"第{p.row_no}行", p.name, p.sex, p.birth_date, p.id_number, p.place)


def upload_diff(upload: RosterUpload) -> DiffShown:
    """Any staged roster (the nutrition programme's) against every student on the
    school's roll: the same diff as the admitted list's."""
    pupils, _skipped = _staged_pupils(upload)
    diff = roster_diff([_person(p) for p in pupils], registry_people())
    return diff_shown(diff, title=upload.filename)


# -- the two sides of the diff --------------------------------------------------------


def admitted_people(admission: AdmissionList) -> list[Person]:
    return [
        Person(f"第{row_no}行", name, sex, birth, id_number, place)
        for row_no, name, sex, birth, id_number, place in admission.pupils.order_by(
            "row_no"
        ).values_list("row_no", "name", "sex", "birth_date", "id_number", "place")
    ]


def registry_people(*, stage: str | None = None, entry_year: int | None = None) -> list[Person]:
    """The school's students still on the roll (any audit state but deleted: an intake's
    newcomers are drafts until the county registers them); with a stage and entry year,
    only that intake's classes."""
    from tenant_apps.registry.models import Student

    qs = Student.objects.exclude(audit_state=Student.Audit.DELETED).exclude(
        status__in=GONE_STATUSES
    )
    if stage is not None and entry_year is not None:
        qs = qs.filter(school_class__stage=stage, school_class__entry_year=entry_year)
    rows = qs.order_by("school_class__stage", "school_class__entry_year", "school_class__number")
    return [
        Person(
            str(pk),
            name,
            sex,
            birth,
            id_number,
            f"{number}班" if number else "",
        )
        for pk, name, sex, birth, id_number, number in rows.values_list(
            "pk", "name", "sex", "birth_date", "id_number", "school_class__number"
        )
    ]


@dataclass(frozen=True)
class OverrideItem:
    pk: int
    person: Person
    reason: str
    granted_by: str
    granted_at: dt.datetime
    revoked: bool
    revoked_by: str
    revoked_at: dt.datetime | None
    revoke_reason: str


def overrides_of(stage: str, entry_year: int, *, active_only: bool = False) -> list[OverrideItem]:
    qs = AdmissionOverride.objects.filter(stage=stage, entry_year=entry_year)
    if active_only:
        qs = qs.filter(revoked_at__isnull=True)
    return [
        OverrideItem(
            o.pk,
            Person(f"例外{o.pk}", o.name, o.sex, o.birth_date, o.id_number),
            o.reason,
            o.granted_by,
            o.granted_at,
            o.revoked_at is not None,
            o.revoked_by,
            o.revoked_at,
            o.revoke_reason,
        )
        for o in qs.order_by("-granted_at")
    ]


@dataclass(frozen=True)
class IntakeDiff:
    admission: AdmissionList
    diff: Diff
    # Registry-only pupils the county excepted (they are allowed; still listed apart).
    excepted: tuple[Person, ...]


def intake_diff(stage: str, entry_year: int) -> IntakeDiff | None:
    """The intake's diff (None without a published list): one query per side."""
    admission = list_current(stage, entry_year)
    if admission is None:
        return None
    diff = roster_diff(
        admitted_people(admission), registry_people(stage=stage, entry_year=entry_year)
    )
    allowed = _Allowed.of(o.person for o in overrides_of(stage, entry_year, active_only=True))
    excepted = tuple(p for p in diff.only_registry if allowed.admits(_keys(p)))
    return IntakeDiff(admission, diff, excepted)


# -- the rule the registry asks (facade.hooks.register_admission_check) ---------------


def _keys(p: Person) -> IdentityKeys:
    if p.birth_date is None:
        return IdentityKeys(id_hash=id_digest(p.id_number), name_hash="", pinyin_hash="")
    return identity_keys(name=p.name, sex=p.sex, birth_date=p.birth_date, id_number=p.id_number)


@dataclass(frozen=True)
class _Allowed:
    """Who an intake admits, as the index's keyed digests (student_index.keys): by ID
    number, else by name + sex + birth date."""

    ids: frozenset[str]
    names: frozenset[str]

    @classmethod
    def of(cls, people: Iterable[Person]) -> _Allowed:
        ids: set[str] = set()
        names: set[str] = set()
        for p in people:
            keys = _keys(p)
            if keys.id_hash:
                ids.add(keys.id_hash)
            if keys.name_hash and p.sex:
                names.add(keys.name_hash)
        return cls(frozenset(ids), frozenset(names))

    def admits(self, keys: IdentityKeys) -> bool:
        return bool(keys.id_hash and keys.id_hash in self.ids) or keys.name_hash in self.names


def admission_rule() -> Callable[[object, IdentityKeys], str | None] | None:
    """For the current school: a function (class number, identity keys) → the intake's
    name when that pupil may not be registered (its class is in an intake with a
    published list, and neither the list nor an exception of the county admits it),
    else None. None when no intake of the school has a list (nothing is checked).
    Everything is read here, once, so the function itself never queries (the import
    calls it per row, also in its forked worker)."""
    from tenant_apps.registry.models import SchoolClass

    lists = lists_in_force()
    if not lists:
        return None
    classes = {
        class_no: (stage, year)
        for class_no, stage, year in SchoolClass.objects.values_list(
            "class_no", "stage", "entry_year"
        )
        if (stage, year) in lists
    }
    if not classes:
        return None
    allowed: dict[tuple[str, int], _Allowed] = {}
    for (stage, year), pk in lists.items():
        admission = AdmissionList.objects.get(pk=pk)
        people = admitted_people(admission)
        people += [o.person for o in overrides_of(stage, year, active_only=True)]
        allowed[(stage, year)] = _Allowed.of(people)

    def refuses(class_no: object, keys: IdentityKeys) -> str | None:
        intake = classes.get(str(class_no or ""))
        if intake is None or allowed[intake].admits(keys):
            return None
        return intake_label(*intake)

    return refuses


# -- the county's exceptions ------------------------------------------------------------


@transaction.atomic
def override_grant(
    *,
    stage: str,
    entry_year: int,
    name: str,
    sex: str,
    birth_date: dt.date | None,
    id_number: str,
    reason: str,
    actor: Actor,
) -> AdmissionOverride:
    year = intake_check(stage, entry_year)
    id_number = id_number.strip().upper()
    name = name.strip()
    if not id_number and not (name and sex in ("1", "2") and birth_date):
        raise ApplicationError(
            MSG_OVERRIDE_WHO, code="invalid", extra={"id_number": [MSG_OVERRIDE_WHO]}
        )
    if not reason.strip():
        raise ApplicationError(
            MSG_OVERRIDE_REASON, code="invalid", extra={"reason": [MSG_OVERRIDE_REASON]}
        )
    return AdmissionOverride.objects.create(
        stage=stage,
        entry_year=year,
        name=name[:50],
        sex=sex if sex in ("1", "2") else "",
        birth_date=birth_date,
        id_number=id_number[:30],
        reason=reason.strip()[:300],
        granted_by=actor.label[:80],
    )


@transaction.atomic
def override_revoke(*, override_id: int, reason: str, actor: Actor) -> AdmissionOverride:
    override = (
        AdmissionOverride.objects.select_for_update()
        .filter(pk=override_id, revoked_at__isnull=True)
        .first()
    )
    if override is None:
        raise ApplicationError(MSG_OVERRIDE_GONE, code="not_found")
    if not reason.strip():
        raise ApplicationError(
            MSG_REVOKE_REASON, code="invalid", extra={"reason": [MSG_REVOKE_REASON]}
        )
    override.revoked_at = timezone.now()
    override.revoked_by = actor.label[:80]
    override.revoke_reason = reason.strip()[:300]
    override.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    return override


# -- what pages, exports and the county are shown ---------------------------------------


@dataclass(frozen=True)
class PersonShown:
    ref: str
    name: str
    sex: str
    birth_date: str
    id_number: str  # masked, as every list masks it
    place: str


@dataclass(frozen=True)
class MismatchShown:
    label: str
    listed: str
    registry: str


@dataclass(frozen=True)
class PairShown:
    listed: PersonShown
    registry: PersonShown
    fields: tuple[MismatchShown, ...]


@dataclass(frozen=True)
class OverrideShown:
    pk: int
    person: PersonShown
    reason: str
    granted_at: dt.datetime
    revoked: bool
    revoked_at: dt.datetime | None
    revoke_reason: str


@dataclass(frozen=True)
class DiffShown:
    """A diff as shown: ID numbers masked; names masked too for the county (another
    schema's people, as the registry facade masks them)."""

    title: str
    counts: dict[str, int]
    only_registry: tuple[PersonShown, ...]
    only_listed: tuple[PersonShown, ...]
    mismatched: tuple[PairShown, ...]
    excepted: tuple[PersonShown, ...] = ()


def _shown_value(key: str, value: str, mask_names: bool) -> str:
    from common.masking import mask_id_number, mask_name

    if not value:
        return ""
    if key == "id_number":
        return mask_id_number(value)
    if key == "name" and mask_names:
        return mask_name(value)
    return value


def person_shown(p: Person, *, mask_names: bool = False) -> PersonShown:
    return PersonShown(
        ref=p.ref,
        name=_shown_value("name", p.name, mask_names),
        sex=p.value("sex"),
        birth_date=p.value("birth_date"),
        id_number=_shown_value("id_number", p.id_number, mask_names),
        place=p.place,
    )


def diff_shown(
    diff: Diff, *, title: str, excepted: Iterable[Person] = (), mask_names: bool = False
) -> DiffShown:
    excepted = tuple(excepted)
    held = {p.ref for p in excepted}
    counts = dict(diff.counts)
    counts["only_registry"] -= len(held)
    counts["excepted"] = len(held)
    return DiffShown(
        title=title,
        counts=counts,
        only_registry=tuple(
            person_shown(p, mask_names=mask_names) for p in diff.only_registry if p.ref not in held
        ),
        only_listed=tuple(person_shown(p, mask_names=mask_names) for p in diff.only_listed),
        mismatched=tuple(
            PairShown(
                person_shown(pair.listed, mask_names=mask_names),
                person_shown(pair.registry, mask_names=mask_names),
                tuple(
                    MismatchShown(
                        m.label,
                        _shown_value(m.key, m.listed, mask_names),
                        _shown_value(m.key, m.registry, mask_names),
                    )
                    for m in pair.fields
                ),
            )
            for pair in diff.mismatched
        ),
        excepted=tuple(person_shown(p, mask_names=mask_names) for p in excepted),
    )


def intake_shown(stage: str, entry_year: int, *, mask_names: bool = False) -> DiffShown | None:
    found = intake_diff(stage, entry_year)
    if found is None:
        return None
    return diff_shown(
        found.diff,
        title=intake_label(stage, entry_year),
        excepted=found.excepted,
        mask_names=mask_names,
    )


def overrides_shown(
    stage: str, entry_year: int, *, mask_names: bool = False
) -> list[OverrideShown]:
    return [
        OverrideShown(
            o.pk,
            person_shown(o.person, mask_names=mask_names),
            o.reason,
            o.granted_at,
            o.revoked,
            o.revoked_at,
            o.revoke_reason,
        )
        for o in overrides_of(stage, entry_year)
    ]
