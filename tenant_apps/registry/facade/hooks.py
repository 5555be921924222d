"""What the registry asks of the layers above it, filled in their AppConfig.ready().

The registry may not import the bureau (it sits above the school apps), yet a 学籍辅号
edit must respect the county's lock and an uploaded 佐证 must reach the county's
review queue. The bureau registers both here, the way the case engine's kinds register
their completions; each registry is a dict keyed by the registering app, so a second
ready() replaces rather than doubles.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from shared_apps.student_index.keys import IdentityKeys


class AuxLockCheck(Protocol):
    def __call__(self, *, county_id: str, stage: str, entry_year: int) -> bool: ...


class EvidenceSubmitted(Protocol):
    def __call__(
        self,
        *,
        school_id: int,
        problem_id: int,
        evidence_id: int,
        student_uuid: uuid.UUID,
        other_uuids: Sequence[uuid.UUID] = (),
    ) -> None: ...


# (class number, identity keys) -> the intake's name when that pupil may not be
# registered, else None.
AdmissionRefusal = Callable[[object, "IdentityKeys"], "str | None"]
# Loads, inside the current school, the refusal for its new intake pupils (None: nothing
# is checked there).
AdmissionCheck = Callable[[], "AdmissionRefusal | None"]

_AUX_LOCK_CHECKS: dict[str, AuxLockCheck] = {}
_EVIDENCE_SUBMITTED: dict[str, EvidenceSubmitted] = {}
_ADMISSION_CHECKS: dict[str, AdmissionCheck] = {}


def register_aux_lock_check(owner: str, check: AuxLockCheck) -> None:
    """`check(county_id=, stage=, entry_year=)` says whether a grade's 辅号 are locked."""
    _AUX_LOCK_CHECKS[owner] = check


def register_evidence_submitted(owner: str, handler: EvidenceSubmitted) -> None:
    """`handler(school_id=, problem_id=, evidence_id=, student_uuid=)` runs inside the
    upload's transaction (the public table is reached through the search path)."""
    _EVIDENCE_SUBMITTED[owner] = handler


def register_admission_check(owner: str, check: AdmissionCheck) -> None:
    """`check()` loads, in the current school, who of its new intake may not be
    registered without the county's admitted list (rosters.admissions, issue 18 point 4):
    the registry sits below the rosters app and asks through here."""
    _ADMISSION_CHECKS[owner] = check


def admission_refusal() -> AdmissionRefusal | None:
    """The current school's refusal for new intake pupils, loaded once per registration
    or import (its function does not query); None when no app refuses anyone."""
    loaded = [r for check in list(_ADMISSION_CHECKS.values()) if (r := check()) is not None]
    if not loaded:
        return None
    if len(loaded) == 1:
        return loaded[0]

    def refuses(class_no: object, keys: IdentityKeys) -> str | None:
        return next((why for r in loaded if (why := r(class_no, keys))), None)

    return refuses


def aux_grade_locked(*, county_id: str, stage: str, entry_year: int) -> bool:
    return any(
        check(county_id=county_id, stage=stage, entry_year=entry_year)
        for check in _AUX_LOCK_CHECKS.values()
    )


def evidence_submitted(
    *,
    school_id: int,
    problem_id: int,
    evidence_id: int,
    student_uuid: uuid.UUID,
    other_uuids: Sequence[uuid.UUID] = (),
) -> None:
    """`other_uuids`: the records a duplicate problem matched (a cross-county one makes
    the bureau open a joint case, bureau.joint)."""
    handlers: list[Callable[..., None]] = list(_EVIDENCE_SUBMITTED.values())
    for handler in handlers:
        handler(
            school_id=school_id,
            problem_id=problem_id,
            evidence_id=evidence_id,
            student_uuid=student_uuid,
            other_uuids=other_uuids,
        )
