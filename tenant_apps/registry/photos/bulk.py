"""照片批量导入: a ZIP of pupils' photos checked in a dry run, then stored on 确认导入
(issue 17 points 3 and 7; domain §3.13).

1. `bulk_start` keeps the uploaded ZIP on the school's storage (imports/photos/) and starts
   the dry run as a job (shared_apps.jobs, progress on the page).
2. `bulk_check` (the job) lists the archive safely (archive.archive_entries refuses bombs,
   traversal, nested archives and non-images per entry, from each file's first bytes),
   matches every file against the roster (archive.match_entries: ID number, 学籍号, 姓名,
   学校标识码_班号_姓名; folders only disambiguate) and reads and normalises every
   matched file in two processes (common.forking: each reads its share of the archive
   and decodes and encodes it; a Celery group would pay a round trip through the broker
   and storage per chunk for the same two cores). A file that already meets the national spec
   (normalise.check_national finds nothing) is kept byte for byte. The results are
   staged as ONE uncompressed ZIP beside a JSON report, so the confirmation never
   normalises twice and the dry run stores one object, not a thousand.
   Nothing of the registry is written.
3. `bulk_store` (a second job, on 确认导入) files every matched photo as the pupil's
   CURRENT photo: the registrar uploading is the school itself, and the dry run's report
   was the review, so no approval step follows (the family link's photos wait for one).
   Every photo goes through registry.photos.services.photo_store inside one
   transaction and one files_guard: if anything fails, the rows roll back and every file
   written is deleted, so a failed job leaves no photo and no file.

The report and the staged files are found through the job's result link: a token signed
with this module's salt naming the job and the report's key (shared_apps.jobs.links),
which opens only for the job's owner on this host.
"""

from __future__ import annotations

import contextlib
import io
import json
import mmap
import os
import re
import shutil
import struct
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit_record
from common.actor import Actor
from common.exceptions import ApplicationError
from common.masking import mask_id_number
from shared_apps.jobs.links import job_file_key, job_file_token
from tenant_apps.registry.models import Student, StudentPhoto
from tenant_apps.registry.photos.normalise import Normalised, PhotoWarning
from tenant_apps.registry.photos.services import files_guard, photo_store

CHECK_KIND = "photo_bulk_check"
STORE_KIND = "photo_bulk_store"
REPORT_SALT = "registry.photos.bulk.report"
UPLOAD_PREFIX = "imports/photos"
MAX_ZIP_BYTES = 1024**3  # as archive.MAX_TOTAL_BYTES: JPEGs hardly compress in a ZIP
ROWS_SHOWN = 2000  # the report lists every file up to this many
CHUNK_BYTES = 8 * 1024 * 1024  # copying an S3 upload to a local file

MSG_TOO_LARGE = "压缩包超过1GB，请按年级分成几个压缩包分别导入。"
MSG_NOT_ZIP = "请上传ZIP压缩包（.zip）。"
MSG_CHECK_DONE = "校验完成：共 {total} 个文件，可导入 {matched} 张，请查看报告后确认导入。"
MSG_CHECK_FAILED = "校验失败：{reason}"
MSG_STORE_DONE = "已导入 {n} 张照片。"
MSG_STORE_FAILED = "导入失败，没有保存任何照片，请稍后重试。"
MSG_REPORT_GONE = "校验报告已过期或不存在，请重新上传压缩包。"
MSG_NOTHING = "没有可以导入的照片。"
MSG_CONFIRMED = "这份报告已经确认导入过，不能重复导入。"
MSG_ROSTER_CHANGED = "{n} 名学生在校验后已不在校，其照片未导入。"

# Row statuses of the report, in the order the page shows them.
MATCHED = "matched"
STATUS_LABELS = {
    "matched": "可导入",
    "unmatched": "未匹配",
    "ambiguous": "无法确定学生",
    "duplicate": "重复",
    "refused": "已拒绝",
}
ID_LIKE = re.compile(r"\d{17}[\dXx]")


@dataclass
class Row:
    """One file of the archive as the report shows it (no ID number in full)."""

    path: str
    status: str
    reason: str = ""
    pupil: str = ""  # the pupil's identifier (uuid), for the store
    pupil_label: str = ""  # 姓名 · 班级
    by: str = ""
    closest: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    normalised: bool = False  # the file was re-made (not kept as it came)
    staged: str = ""  # the member name in the staged ZIP
    quality: int = 0
    codes: list[str] = field(default_factory=list)  # the warnings' codes, beside `warnings`
    faces: int = 0
    source_format: str = ""
    source_size: list[int] = field(default_factory=list)


@dataclass
class Report:
    counts: dict[str, int]
    rows: list[Row]
    upload_key: str
    staged_key: str
    filename: str


def _masked_path(path: str) -> str:
    return ID_LIKE.sub(lambda m: mask_id_number(m.group(0)), path)


# -- start -------------------------------------------------------------------------------


@transaction.atomic
def bulk_start(*, upload: IO[bytes], filename: str, size: int, actor: Actor, owner_id: int) -> str:
    """Keep the ZIP and start its dry run; returns the job id. Refuses what is too large
    or plainly not a ZIP (the archive reader refuses the rest, per file, in the job)."""
    from shared_apps.jobs.services import job_create
    from tenant_apps.registry.photos.bulk_tasks import photo_bulk_check

    if size > MAX_ZIP_BYTES:
        raise ApplicationError(_(MSG_TOO_LARGE), code="too_large")
    head = upload.read(4)
    upload.seek(0)
    if head[:2] != b"PK":
        raise ApplicationError(_(MSG_NOT_ZIP), code="not_zip")
    key = default_storage.save(f"{UPLOAD_PREFIX}/{timezone.localdate():%Y%m%d}.zip", File(upload))
    job = job_create(owner_id=owner_id, kind=CHECK_KIND, title=_("照片批量导入校验"))
    job_id = str(job.pk)
    args = (job_id, key, filename[:200], actor.username)
    transaction.on_commit(lambda: photo_bulk_check.delay(*args))
    return job_id


# -- the dry run -------------------------------------------------------------------------


def _roster() -> tuple[list[Any], dict[str, Student]]:
    """The pupils in school as archive.Pupil, and the rows by identifier."""
    from django.db import connection

    from tenant_apps.registry.classes.services import grade_label
    from tenant_apps.registry.photos.archive import Pupil
    from tenants.models import School

    school = School.objects.filter(schema_name=connection.schema_name).first()
    code = school.code if school else ""
    students = list(
        Student.objects.filter(status=Student.Status.STUDYING)
        .exclude(audit_state=Student.Audit.DELETED)
        .select_related("school_class")
    )
    pupils = [
        Pupil(
            key=str(s.identifier),
            name=s.name,
            id_number=s.id_number,
            national_number=s.national_number,
            grade=grade_label(s.school_class.stage, s.school_class.entry_year),
            class_name=s.school_class.name,
            school_code=code,
            class_no=s.school_class.class_no,
        )
        for s in students
    ]
    return pupils, {str(s.identifier): s for s in students}


Made = tuple[str, Normalised | None, str, bool]


def _normalise_one(data: bytes) -> Made:
    """("ok", result, "", re-made) or ("refused", None, reason, False). A file that is a
    national one already is kept byte for byte (no second JPEG generation)."""
    from PIL import Image

    from tenant_apps.registry.photos.normalise import (
        PhotoRejected,
        PhotoSpec,
        check_national,
        normalise,
    )

    spec = PhotoSpec.from_settings()
    try:
        # Only a file of the national size and bytes can be national: its header says so
        # without decoding (a phone picture would be decoded twice otherwise).
        with Image.open(io.BytesIO(data)) as img:
            size, fmt = img.size, img.format
        plausible = fmt == "JPEG" and size == (spec.width, spec.height)
        if plausible and len(data) <= spec.max_bytes and not check_national(data, spec=spec):
            kept = Normalised(
                jpeg=data, quality=0, warnings=(), faces=1, source_format="JPEG", source_size=size
            )
            return "ok", kept, "", False
        return "ok", normalise(data, spec=spec), "", True
    except (OSError, ValueError, Image.DecompressionBombError):
        # Not even a header Pillow reads: the normaliser says why, in Chinese.
        try:
            return "ok", normalise(data, spec=spec), "", True
        except PhotoRejected as exc:
            return "refused", None, exc.message, False
    except PhotoRejected as exc:
        return "refused", None, exc.message, False


def normalise_many(
    path: str,
    entries: Sequence[Any],
    *,
    progress: Callable[[int], None] | None = None,
) -> list[Made]:
    """`_normalise_one` over both cores for `entries` of the ZIP at `path` (listed by
    archive_entries(read=False)), each process reading its own share of the archive.

    Reading the files is a good part of the work (about 2 s a GB here, mostly copying
    and CRC), so the parent does not read them all before forking: each process opens
    the archive itself and fetches, then normalises, every other entry (common.forking:
    the child gets the listing by fork, its progress is read through a shared counter).
    An archive refused as a whole while a share is read (a ratio or a size its headers
    hid) comes back as a value and is raised here, in Chinese, as archive_entries would."""
    from common.forking import fork_map
    from tenant_apps.registry.photos.archive import MAX_TOTAL_BYTES, P_TOO_LARGE, entry_bytes
    from tenant_apps.registry.photos.normalise import PhotoRejected, PhotoSpec

    spec = PhotoSpec.from_settings()
    counter = mmap.mmap(-1, 8)
    parent = os.getpid()
    shares = [list(range(0, len(entries), 2)), list(range(1, len(entries), 2))]

    def work(share: list[int]) -> tuple[list[tuple[int, Made]], tuple[str, str] | None]:
        here = os.getpid() == parent
        done: list[tuple[int, Made]] = []
        total = 0
        try:
            with zipfile.ZipFile(path) as zf:
                for n, index in enumerate(share, start=1):
                    data, total = entry_bytes(
                        zf, entries[index], spec=spec, total=total, max_total_bytes=MAX_TOTAL_BYTES
                    )
                    if data is None:
                        done.append((index, ("refused", None, P_TOO_LARGE, False)))
                    else:
                        done.append((index, _normalise_one(data)))
                    if here:
                        if progress is not None and n % 10 == 0:
                            progress(n + struct.unpack("q", counter[:8])[0])
                    elif n % 10 == 0:
                        counter[:8] = struct.pack("q", n)
        except PhotoRejected as exc:
            return done, (exc.message, exc.code or "archive")
        return done, None

    results: list[Any] = [None] * len(entries)
    for part, refused in fork_map(work, [s for s in shares if s] or [[]]):
        if refused is not None:
            raise PhotoRejected(refused[0], code=refused[1])
        for index, value in part:
            results[index] = value
    return results


@contextlib.contextmanager
def _local_archive(key: str) -> Iterator[str]:
    """A path on this machine to the stored upload, for every process to open by itself:
    the file itself on file-system storage, else a temporary copy (S3)."""
    try:
        local = default_storage.path(key)
    except NotImplementedError:
        local = ""
    if local:
        yield local
        return
    with tempfile.NamedTemporaryFile(suffix=".zip") as copy:
        with default_storage.open(key, "rb") as source:
            shutil.copyfileobj(source, copy, length=CHUNK_BYTES)
        copy.flush()
        yield copy.name


def _check_files(
    upload_key: str, progress: Callable[[int, str], None]
) -> tuple[list[Any], list[int], list[Made]]:
    """Listing, matching and normalising of the dry run: (the matches, the indexes of the
    matched ones, their results)."""
    from tenant_apps.registry.photos.archive import archive_entries, match_entries
    from tenant_apps.registry.photos.normalise import PhotoSpec

    with _local_archive(upload_key) as path:
        with open(path, "rb") as fileobj:
            entries = archive_entries(fileobj, spec=PhotoSpec.from_settings(), read=False)
        pupils, _rows = _roster()
        matches = match_entries(entries, pupils)
        todo = [i for i, m in enumerate(matches) if m.status == MATCHED]
        total = len(todo)
        progress(5, _("共 %(n)s 张照片需要处理……") % {"n": total})

        def step(n: int) -> None:
            progress(
                5 + 85 * n // max(total, 1), _("已处理 %(n)s / %(t)s 张……") % {"n": n, "t": total}
            )

        made = normalise_many(path, [matches[i].entry for i in todo], progress=step)
    return matches, todo, made


def bulk_check(
    *, job_id: str, upload_key: str, filename: str, progress: Callable[[int, str], None]
) -> tuple[Report, str]:
    """The dry run: (report, the report's storage key). Raises PhotoRejected (with its
    Chinese reason) for an archive refused as a whole (not a ZIP, a bomb, encrypted)."""
    from tenant_apps.registry.photos.normalise import PhotoRejected

    progress(2, _("正在读取压缩包……"))
    try:
        matches, todo, made = _check_files(upload_key, progress)
    except PhotoRejected as exc:
        # The reason names the file, whose name may be a full ID number: masked as the
        # report's paths are.
        raise PhotoRejected(_masked_path(exc.message), code=exc.code or "archive") from exc
    by_index = dict(zip(todo, made, strict=True))
    progress(92, _("正在保存校验结果……"))
    rows: list[Row] = []
    staged = io.BytesIO()
    with zipfile.ZipFile(staged, "w", compression=zipfile.ZIP_STORED) as out:
        for index, match in enumerate(matches):
            pupil = match.pupil
            row = Row(
                path=_masked_path(match.entry.path),
                status=match.status,
                reason=match.reason or match.entry.problem,
                pupil=pupil.key if pupil else "",
                pupil_label=f"{pupil.name} · {pupil.class_name}" if pupil else "",
                by=match.by,
                closest=list(match.closest),
            )
            if index in by_index:
                state, result, reason, remade = by_index[index]
                if state == "ok" and result is not None:
                    row.staged = f"{len(rows)}.jpg"
                    row.normalised, row.quality, row.faces = remade, result.quality, result.faces
                    row.warnings = [w.message for w in result.warnings]
                    row.codes = [w.code for w in result.warnings]
                    row.source_format = result.source_format
                    row.source_size = list(result.source_size)
                    out.writestr(row.staged, result.jpeg)
                else:
                    row.status, row.reason = "refused", reason
            rows.append(row)
    staged_key = default_storage.save(
        f"{UPLOAD_PREFIX}/{job_id}/staged.zip", ContentFile(staged.getvalue())
    )
    report = Report(
        counts=_counts(rows),
        rows=rows,
        upload_key=upload_key,
        staged_key=staged_key,
        filename=filename,
    )
    body = json.dumps(asdict(report), ensure_ascii=False).encode("utf-8")
    report_key = default_storage.save(f"{UPLOAD_PREFIX}/{job_id}/report.json", ContentFile(body))
    return report, report_key


def _counts(rows: Sequence[Row]) -> dict[str, int]:
    counts = dict.fromkeys(STATUS_LABELS, 0)
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    counts["total"] = len(rows)
    counts["normalised"] = sum(1 for r in rows if r.status == MATCHED and r.normalised)
    counts["warned"] = sum(1 for r in rows if r.status == MATCHED and r.warnings)
    return counts


def report_link(*, job_id: str, report_key: str) -> str:
    """The job's result link: the report page, carrying the signed report token."""
    token = job_file_token(job_id=job_id, key=report_key, salt=REPORT_SALT)
    return reverse("registry:photo_bulk_report", kwargs={"report_token": token})


def report_load(*, token: str, user_id: int) -> Report | None:
    """The report a genuine link of `user_id`'s own job names; None otherwise."""
    key = job_file_key(token=token, salt=REPORT_SALT, user_id=user_id)
    if key is None:
        return None
    with default_storage.open(key, "rb") as fileobj:
        data = json.loads(fileobj.read().decode("utf-8"))
    data["rows"] = [Row(**row) for row in data["rows"]]
    return Report(**data)


def report_job_id(token: str) -> str:
    from django.core import signing

    try:
        return str(signing.loads(token, salt=REPORT_SALT).get("j", ""))
    except signing.BadSignature:
        return ""


# -- 确认导入 ------------------------------------------------------------------------------


@transaction.atomic
def bulk_confirm(*, token: str, actor: Actor, owner_id: int, request: Any = None) -> str:
    """Start storing the matched photos of the report `token` names; returns the job id."""
    from shared_apps.jobs.services import job_create
    from tenant_apps.registry.photos.bulk_tasks import photo_bulk_store

    report = report_load(token=token, user_id=owner_id)
    if report is None:
        raise ApplicationError(_(MSG_REPORT_GONE), code="not_found")
    if not report.counts.get(MATCHED):
        raise ApplicationError(_(MSG_NOTHING), code="empty")
    # One confirmation per report (a double click, a resent form): the cache's add is
    # atomic in Redis and keyed by schema; it outlives the report link.
    from django.core.cache import cache

    from shared_apps.jobs.links import LINK_SECONDS

    if not cache.add(f"photo-bulk-confirmed:{report_job_id(token)}", 1, LINK_SECONDS + 3600):
        raise ApplicationError(_(MSG_CONFIRMED), code="confirmed")
    job = job_create(owner_id=owner_id, kind=STORE_KIND, title=_("照片批量导入"))
    job_id = str(job.pk)
    audit_record(
        request=request,
        actor=actor,
        action="photo.bulk.confirm",
        object_type="job",
        object_id=job_id,
        object_repr=report.filename,
        after={"matched": report.counts.get(MATCHED, 0), "total": report.counts.get("total", 0)},
    )
    args = (job_id, token, owner_id, actor.username, actor.name)
    transaction.on_commit(lambda: photo_bulk_store.delay(*args))
    return job_id


def bulk_store(
    *, token: str, owner_id: int, actor: Actor, progress: Callable[[int, str], None]
) -> tuple[int, int]:
    """File every matched photo of the report as its pupil's current photo; (stored,
    skipped because the pupil left meanwhile). All or nothing (see the module's note)."""
    report = report_load(token=token, user_id=owner_id)
    if report is None:
        raise ApplicationError(_(MSG_REPORT_GONE), code="not_found")
    rows = [r for r in report.rows if r.status == MATCHED and r.staged]
    with default_storage.open(report.staged_key, "rb") as fileobj:
        blob = io.BytesIO(fileobj.read())
    with zipfile.ZipFile(blob) as staged:
        jpegs = {r.staged: staged.read(r.staged) for r in rows}
    students = {
        str(s.identifier): s
        for s in Student.objects.filter(identifier__in=[r.pupil for r in rows])
        .filter(status=Student.Status.STUDYING)
        .exclude(audit_state=Student.Audit.DELETED)
    }
    keep = [r for r in rows if r.pupil in students]
    total = len(keep)
    progress(3, _("正在保存 %(n)s 张照片……") % {"n": total})
    # All or nothing: a failure rolls the rows back and files_guard deletes every file
    # saved inside the block.
    with files_guard(), transaction.atomic():
        for done, row in enumerate(keep, start=1):
            photo_store(
                student_id=students[row.pupil].pk,
                result=_result(row, jpegs[row.staged]),
                actor=actor,
                source=StudentPhoto.Source.BULK,
                status=StudentPhoto.Status.CURRENT,
            )
            if done % 20 == 0:
                message = _("已保存 %(n)s / %(t)s 张……") % {"n": done, "t": total}
                progress(3 + 94 * done // max(total, 1), message)
        audit_record(
            actor=actor,
            action="photo.bulk.store",
            object_type="import_batch",
            object_repr=report.filename,
            after={"stored": total, "skipped": len(rows) - total},
        )
    for key in (report.upload_key, report.staged_key):
        default_storage.delete(key)
    return total, len(rows) - total


def _result(row: Row, jpeg: bytes) -> Normalised:
    """The dry run's normalisation of `row`, as the photo services take it."""
    size = (row.source_size + [0, 0])[:2]
    return Normalised(
        jpeg=jpeg,
        quality=row.quality,
        warnings=tuple(PhotoWarning(c, m) for c, m in zip(row.codes, row.warnings, strict=True)),
        faces=row.faces,
        source_format=row.source_format,
        source_size=(size[0], size[1]),
    )
