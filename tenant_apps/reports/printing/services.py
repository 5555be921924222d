"""Making the print centre's documents: directly for a small scope, as a job for a large
one, each recorded in the audit log (what, scope, count) before anything is handed out.

Identifiers: the 学籍卡片 and the 核对表 go into the record owner's file and to the parent,
so they carry full values, but only for a reader who may see full values on the student's
page (registry.students.reveal: 查看学籍, or 查看本班学籍 for the reader's classes — the print
centre never widens the reader's classes, so every student printed is in scope). Rosters
mask ID numbers like every list.
"""

from __future__ import annotations

import io
import mmap
import os
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.audit import READ_EXPORT, READ_EXPORT_FULL, audit_record
from common.permissions import has_any_right
from shared_apps.jobs.links import job_file_key, job_file_token
from tenant_apps.registry.students.reveal import REVEAL_RIGHTS
from tenant_apps.reports.printing import documents
from tenant_apps.reports.printing.documents import PDF, XLSX, ZIP, Printed
from tenant_apps.reports.printing.selectors import (
    DOCUMENTS,
    FULL_VALUE_DOCUMENTS,
    Group,
    Target,
    target_groups,
    target_students,
)

FORMATS = ("pdf", "xlsx")
# Over this many students a document is made by a job (the request would take seconds).
BATCH_THRESHOLD = 50
JOB_KIND = "print_batch"
LINK_SALT = "reports.printing.download"
MSG_DONE = "已生成{document}（{n} 名学生），点击“查看结果”下载（24小时内有效）。"
MSG_FAILED = "生成失败，请稍后重试。"
MSG_LOST = "生成中断（服务重启），请重新生成。"


@dataclass(frozen=True)
class Started:
    """A document asked for: made now (`printed`), or by the job `job_id`."""

    printed: Printed | None = None
    job_id: str = ""
    count: int = 0


def full_values(user: Any, document: str) -> bool:
    """Whether `document` shows identifiers in full to `user` (see the module's note)."""
    return document in FULL_VALUE_DOCUMENTS and has_any_right(user, REVEAL_RIGHTS)


def _name(target: Target, fmt: str) -> str:
    return f"{DOCUMENTS[target.document]}-{timezone.localdate():%Y%m%d}.{fmt}"


def _audit(*, request: Any, target: Target, fmt: str, full: bool, count: int) -> None:
    audit_record(
        request=request,
        action=READ_EXPORT_FULL if full else READ_EXPORT,
        object_type="student",
        object_id=target.key if target.scope == "student" else "",
        object_repr=DOCUMENTS[target.document],
        after={"print": target.as_dict(), "format": fmt, "rows": count},
    )


@transaction.atomic
def print_start(*, request: Any, target: Target, fmt: str, school_name: str) -> Started:
    """Make `target` as `fmt` for the request's user: at most BATCH_THRESHOLD students
    now, more through a job whose id is returned. Raises selectors.NotFound for a scope
    outside the school or the reader's classes. Audited with the row count either way."""
    from shared_apps.jobs.services import job_create

    user = request.user
    qs = target_students(target, user=user)
    count = qs.count()
    full = full_values(user, target.document)
    _audit(request=request, target=target, fmt=fmt, full=full, count=count)
    base = family_base(request, target)
    if count <= BATCH_THRESHOLD:
        printed = print_make(
            target=target, fmt=fmt, full=full, school_name=school_name, user=user, base=base
        )
        return Started(printed=printed, count=count)
    title = f"打印{DOCUMENTS[target.document]}"
    job = job_create(owner_id=user.pk, kind=JOB_KIND, title=title)
    job_id = str(job.pk)
    from tenant_apps.reports.printing.tasks import print_batch_run

    args = (job_id, target.as_dict(), fmt, full, school_name, user.pk, base)
    transaction.on_commit(lambda: print_batch_run.delay(*args))
    return Started(job_id=job_id, count=count)


def family_base(request: Any, target: Target) -> str:
    """The origin the 核对表's upload QR codes point at (this school's host, as the
    reader reached it); "" when the document carries none: another document, or a reader
    who does not maintain photos (photos are the school's, never the class teacher's,
    domain §3.13)."""
    from tenant_apps.registry.photos.family import PHOTO_RIGHT

    user = getattr(request, "user", None)
    if target.document != "check" or not has_any_right(user, (PHOTO_RIGHT,)):
        return ""
    return str(request.build_absolute_uri("/")).rstrip("/")


def family_urls(*, groups: list[Group], user: Any, base: str) -> dict[int, str]:
    """{student pk: family upload link} for every pupil of `groups` (new links, made
    before any fork: the PDF's children touch no database)."""
    if not base:
        return {}
    from django.urls import reverse

    from common.actor import Actor
    from tenant_apps.registry.photos.family import family_links_for_print

    students = [s for g in groups for s in g.students]
    tokens = family_links_for_print(students=students, actor=Actor.of(user))
    return {
        pk: base + reverse("registry:photo_family", kwargs={"family_token": token})
        for pk, token in tokens.items()
    }


def print_make(
    *,
    target: Target,
    fmt: str,
    full: bool,
    school_name: str,
    user: Any,
    progress: Callable[[int], None] | None = None,
    base: str = "",
) -> Printed:
    """The document of a small scope as one file (no audit: the caller records it)."""
    groups = target_groups(target_students(target, user=user).prefetch_related("family"))
    if target.document == "card" and fmt != "xlsx":
        documents.photos_attach(groups)
    if fmt == "xlsx":
        data = documents.render_xlsx(target.document, groups, full=full, progress=progress)
        return Printed(data, _name(target, "xlsx"), XLSX)
    data = documents.render_pdf(
        target.document,
        groups,
        school_name=school_name,
        full=full,
        progress=progress,
        family_urls=family_urls(groups=groups, user=user, base=base),
    )
    return Printed(data, _name(target, "pdf"), PDF)


def print_run(
    *,
    target: Target,
    fmt: str,
    full: bool,
    school_name: str,
    user: Any,
    progress: Callable[[int, str], None],
    base: str = "",
) -> tuple[str, int]:
    """A large batch as one stored file; (storage key, students). Several classes as PDF
    make a ZIP with one PDF per class (a reader opens a class at a time; one PDF of 5,000
    pages is a burden on a phone); an Excel batch is one workbook with a sheet per class.
    Progress moves per class. Writes nothing but its own file, so a lost run is made again."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    qs = target_students(target, user=user)
    total = qs.count()
    progress(2, f"共 {total} 名学生，正在生成……")
    groups = target_groups(qs.prefetch_related("family"))
    if target.document == "card" and fmt != "xlsx":
        progress(3, "正在读取学生照片……")
        documents.photos_attach(groups)

    def step(n: int) -> None:
        progress(2 + 93 * n // max(total, 1), f"已生成 {n} / {total} 名……")

    urls = family_urls(groups=groups, user=user, base=base) if fmt != "xlsx" else {}
    if fmt == "xlsx":
        data = documents.render_xlsx(target.document, groups, full=full, progress=step)
        name = _name(target, "xlsx")
    elif len(groups) == 1:
        data = documents.render_pdf(
            target.document,
            groups,
            school_name=school_name,
            full=full,
            progress=step,
            family_urls=urls,
        )
        name = _name(target, "pdf")
    else:
        data = _zip_by_class(
            target, groups, full=full, school_name=school_name, step=step, family_urls=urls
        )
        name = _name(target, "zip")
    progress(96, "正在保存文件……")
    key = default_storage.save(f"exports/print/{name}", ContentFile(data))
    return key, total


def _zip_by_class(
    target: Target,
    groups: list[Group],
    *,
    full: bool,
    school_name: str,
    step: Callable[[int], None],
    family_urls: dict[int, str] | None = None,
) -> bytes:
    """One PDF per class in a ZIP, made by two processes (common.forking): drawing the
    pages is pure Python and 5,000 学籍卡片 take minutes on one core. The classes are
    dealt out alternately, so both shares hold about as many students. The forked child
    touches no database: everything it draws is read here first (students, family,
    marks), and it tells its progress through a shared counter that this process reads
    after each of its own classes and reports to the job."""
    from common.forking import fork_map
    from common.pdf import font

    font()  # registered once, before the fork, for both processes
    everyone = [s for g in groups for s in g.students]
    marks = documents.marks_of(everyone) if target.document == "transcript" else None
    counter = mmap.mmap(-1, 8)  # anonymous and shared: the child's students done so far

    def work(share: list[Group]) -> list[tuple[str, bytes]]:
        here = os.getpid() == parent
        made: list[tuple[str, bytes]] = []
        done = 0
        for group in share:
            pdf = documents.render_pdf(
                target.document,
                [group],
                school_name=school_name,
                full=full,
                marks=marks,
                family_urls=family_urls,
            )
            made.append((f"{group.school_class.name}.pdf", pdf))
            done += len(group.students)
            if here:
                step(done + struct.unpack("q", counter[:8])[0])
            else:
                counter[:8] = struct.pack("q", done)
        return made

    parent = os.getpid()
    shares = [groups[0::2], groups[1::2]]
    parts = fork_map(work, [s for s in shares if s])
    step(len(everyone))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, pdf in sorted(
            (item for part in parts for item in part), key=_class_order(groups)
        ):
            archive.writestr(name, pdf)
    return buffer.getvalue()


def _class_order(groups: list[Group]) -> Callable[[tuple[str, bytes]], int]:
    order = {f"{g.school_class.name}.pdf": i for i, g in enumerate(groups)}
    return lambda item: order.get(item[0], 0)


def print_link(*, job_id: str, key: str) -> str:
    """The job's result link: opens the file for the job's owner only."""
    from django.urls import reverse

    token = job_file_token(job_id=job_id, key=key, salt=LINK_SALT)
    return reverse("reports:print_download", kwargs={"print_token": token})


def print_file_key(*, token: str, user_id: int) -> str | None:
    """The storage key of the asker's own finished print file (shared_apps.jobs.links)."""
    return job_file_key(token=token, salt=LINK_SALT, user_id=user_id)


def content_type_of(key: str) -> str:
    return {"pdf": PDF, "xlsx": XLSX, "zip": ZIP}.get(key.rsplit(".", 1)[-1], PDF)
