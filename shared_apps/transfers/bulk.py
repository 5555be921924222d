"""The bureau's batch decisions (勾选的业务 and 全选符合条件的 N 件, the latter as a
background job with progress) over the 异动 cases of its queue that wait for it.

Transfers are never decided in a batch: domain.md §3.5 says the national system has no
batch approval of transfers "so that approvers actually check", and issue 16 keeps it so.
`ONE_BY_ONE` are those kinds; `cases_matching` leaves them out and `batch_refusal` is the
message the checked-cases batch answers for one of them.

Each case is decided alone through `services.case_decide`, in its own transaction, as
the checked-cases batch already does: cases are independent of each other (a case's
step, history and completion touch only that case and its student), so a refusal of
one never undoes the others, and a job stopped half-way leaves every case decided or
untouched. The job's message counts both and names the first refusals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from django.db import transaction

from common.exceptions import ApplicationError
from shared_apps.transfers.models import Case, CaseKind
from shared_apps.transfers.selectors import case_waits_for_region, cases_for_region

MSG_NONE_MATCHING = "没有符合条件、待本局办理、可批量办理的业务。"
MSG_ONE_BY_ONE = "转学类业务和关键数据变更不设批量审核，请打开该业务逐件审核。"
# Transfers between schools, with the outside, and of teachers: one by one (domain §3.5);
# so are key-data changes ("Batch review is sequential", domain §3.19).
ONE_BY_ONE = frozenset(
    {
        CaseKind.TRANSFER,
        CaseKind.TRANSFER_OUT_EXTERNAL,
        CaseKind.TRANSFER_IN_EXTERNAL,
        CaseKind.TEACHER_TRANSFER,
        CaseKind.KEY_DATA,
    }
)
MSG_REASON = "退回时请填写审核意见。"
PROGRESS_EVERY = 10  # cases between two progress writes (one UPDATE each)


@dataclass(frozen=True)
class CaseFilter:
    """The queue's filters (its own query parameters); `waiting` is implied: only
    cases at this bureau's step can be decided."""

    kind: str = ""
    school: int | None = None
    overdue: bool | None = None

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> CaseFilter:
        kind = str(data.get("kind") or "")
        school = str(data.get("school") or "")
        overdue = data.get("overdue")
        if not isinstance(overdue, bool):
            overdue = {"1": True, "0": False}.get(str(overdue or ""))
        return cls(
            kind=kind if kind in CaseKind.values else "",
            school=int(school) if school.isdigit() else None,
            overdue=overdue,
        )

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def query(self, **extra: str) -> str:
        overdue = {True: "1", False: "0"}.get(self.overdue, "")  # type: ignore[arg-type]
        values = {"kind": self.kind, "school": self.school or "", "overdue": overdue}
        values.update(extra)
        return urlencode({k: v for k, v in values.items() if v})


def batchable(case: Case) -> bool:
    """Whether the bureau may decide `case` in a batch (not a transfer)."""
    return case.kind not in ONE_BY_ONE


def batch_refusal(case: Case) -> str:
    """ "" when `case` may go in a batch, else why not (for the batch's result list)."""
    return "" if batchable(case) else MSG_ONE_BY_ONE


def cases_matching(*, region: str, flt: CaseFilter) -> list[Case]:
    """Cases of the queue under `flt` whose current step is this region's bureau and
    that may be decided in a batch (never a transfer)."""
    if flt.kind in ONE_BY_ONE:
        return []
    cases = cases_for_region(
        region, kind=flt.kind or None, school_id=flt.school, overdue=flt.overdue, waiting=True
    )
    return [c for c in cases if case_waits_for_region(c, region) and batchable(c)]


@dataclass(frozen=True)
class CasesStarted:
    job_id: str
    matching: int


@transaction.atomic(durable=True)
def cases_decide_start(*, user: Any, flt: CaseFilter, approve: bool, reason: str) -> CasesStarted:
    """Count what matches now, record the job and send the task once committed."""
    from shared_apps.jobs.services import job_create
    from shared_apps.transfers.tasks import cases_decide_run as cases_decide_run_task

    region = str(getattr(user, "region_id", "") or "")
    if not approve and not reason.strip():
        raise ApplicationError(MSG_REASON, code="invalid", extra={"reason": [MSG_REASON]})
    matching = len(cases_matching(region=region, flt=flt)) if region else 0
    if not matching:
        raise ApplicationError(MSG_NONE_MATCHING, code="invalid")
    verb = "批量审核通过" if approve else "批量退回"
    job = job_create(
        owner_id=user.pk, kind="cases_decide", title=f"{verb}：符合条件的 {matching} 件业务"
    )
    args = (str(job.pk), user.pk, flt.as_json(), approve, reason.strip())
    transaction.on_commit(lambda: cases_decide_run_task.delay(*args))
    return CasesStarted(job_id=str(job.pk), matching=matching)


@dataclass(frozen=True)
class CasesDone:
    done: int
    refused: int
    message: str


def cases_decide_run(
    *,
    user: Any,
    flt: CaseFilter,
    approve: bool,
    reason: str,
    progress: Callable[[int, str], None],
) -> CasesDone:
    """Decide every matching case, one transaction each (see the module docstring)."""
    from shared_apps.transfers.services import CaseActor, case_decide

    region = str(user.region_id or "")
    cases = cases_matching(region=region, flt=flt)
    total = len(cases)
    actor = CaseActor.of(user)
    done, refusals = 0, []
    progress(0, f"共 {total} 件业务，正在办理…")
    for n, case in enumerate(cases, 1):
        try:
            case_decide(
                case_id=case.pk, actor=actor, approve=approve, reason=reason, step=case.step
            )
        except ApplicationError as exc:
            refusals.append(f"{case.number}：{exc.message}")
        else:
            done += 1
        if n % PROGRESS_EVERY == 0 or n == total:
            progress(n * 100 // max(total, 1), f"已办理 {n} / {total} 件")
    message = f"已处理 {done} 件，未处理 {len(refusals)} 件。"
    if refusals:
        message += "未处理：" + "；".join(refusals[:3])
        if len(refusals) > 3:
            message += f" 等 {len(refusals)} 件"
    return CasesDone(done=done, refused=len(refusals), message=message[:300])
