from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.http import HttpResponse
from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.reauth import PROBLEM_DELETE, STUDENT_EXPORT, sensitive
from accounts.roles import Right
from common.actor import Actor
from common.exceptions import ApplicationError
from common.permissions import has_right
from common.schema import ErrorResponse, paginated
from tenant_apps.registry.fields import COLUMNS
from tenant_apps.registry.imports import pipeline as imports
from tenant_apps.registry.imports.selectors import import_batch_get
from tenant_apps.registry.models import ImportBatch, ProblemRecord, Student
from tenant_apps.registry.policy import rules as policy
from tenant_apps.registry.problems import services as problems
from tenant_apps.registry.problems.selectors import problem_list
from tenant_apps.registry.students import approval, services
from tenant_apps.registry.students.reveal import (
    changes_shown,
    fields_shown,
    report_counts_shown,
    report_row_shown,
    reveal_grant,
    shown,
)
from tenant_apps.registry.students.selectors import student_get, student_list

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class StudentOutput(serializers.Serializer):
    id = serializers.UUIDField(source="identifier")
    name = serializers.CharField()
    sex = serializers.CharField()
    birth_date = serializers.DateField()
    id_number = serializers.SerializerMethodField()
    class_no = serializers.CharField(source="school_class.class_no")
    class_name = serializers.CharField(source="school_class.name")
    number_in_class = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    audit_state = serializers.CharField()
    national_number = serializers.SerializerMethodField()
    number_kind = serializers.CharField()

    # Masked (ID number, a G number) unless the view put reveal=True into the context,
    # which only StudentDetailApi does, through registry.students.reveal.reveal_grant.
    def get_id_number(self, student: Student) -> str:
        return str(shown("id_number", student.id_number, reveal=self._reveal))

    def get_national_number(self, student: Student) -> str:
        return str(shown("national_number", student.national_number, reveal=self._reveal))

    @property
    def _reveal(self) -> bool:
        return bool(self.context.get("reveal", False))


class StudentDetailOutput(StudentOutput):
    """GET /api/v1/students/<id>/: the view adds these keys to StudentOutput itself."""

    fields = serializers.DictField(  # type: ignore[assignment]
        help_text="国家模板各列的值，键为字段名（按权限隐去部分）"
    )
    family = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField()), help_text="家庭成员"
    )
    history = serializers.ListField(
        child=serializers.DictField(), help_text="学籍记录：at, actor, action, from, to, reason"
    )


# The body of a create, an edit or a correction: the national template's columns by key,
# each optional here (services check what is required and answer 400 field by field).
StudentRecordInput = inline_serializer(
    name="StudentRecordInput",
    fields={
        c.key: serializers.CharField(required=False, allow_blank=True, help_text=c.header)
        for c in COLUMNS
    },
)


def _raw(data: dict[str, Any]) -> dict[str, Any]:
    keys = {c.key for c in COLUMNS}
    return {k: v for k, v in data.items() if k in keys}


VIEW_RIGHTS = (Right.REGISTRY_VIEW, Right.REGISTRY_VIEW_OWN)
REVEAL_ASKED = {"1", "true", "yes"}
EDIT_RIGHTS = (Right.REGISTRY_EDIT, Right.REGISTRY_EDIT_OWN)


def _visible_student(request: Request, student_id: str) -> Student:
    """A student of a class the user may see (class scope); others are not found."""
    student = student_get(identifier=student_id)
    if student is None or not policy.in_scope(
        policy.student_scope(request.user), student.school_class_id
    ):
        raise NotFound()
    return student


class StudentListCreateApi(APIView):
    """Class teachers (查看本班学籍) list only their classes; creating needs 维护学籍."""

    permission_classes = [has_right(VIEW_RIGHTS, write=Right.REGISTRY_EDIT)]

    @extend_schema(
        parameters=[
            OpenApiParameter("q", str, description="姓名、拼音首字母、身份证件号或全国学籍号"),
            OpenApiParameter("class_id", int),
            OpenApiParameter("status", str),
            OpenApiParameter("audit_state", str),
            OpenApiParameter("page", int),
        ],
        responses=paginated(StudentOutput, "PaginatedStudentList"),
        summary="学生名册（查询）",
        operation_id="v1_students_list",
    )
    def get(self, request: Request) -> Response:
        p = request.query_params
        class_id = p.get("class_id")
        qs = student_list(
            search=p.get("q", ""),
            status=p.get("status", ""),
            audit_state=p.get("audit_state", ""),
            class_id=int(class_id) if class_id and class_id.isdigit() else None,
            class_ids=policy.student_scope(request.user),
        )
        from rest_framework.pagination import PageNumberPagination

        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(StudentOutput(page, many=True).data)

    @extend_schema(
        request=StudentRecordInput,
        responses={201: StudentOutput},
        summary="新增学生（逐个录入）",
    )
    def post(self, request: Request) -> Response:
        student = services.student_register(raw=_raw(request.data), actor=Actor.of(request.user))  # type: ignore[arg-type]
        return Response(StudentOutput(student).data, status=status.HTTP_201_CREATED)


class StudentDetailApi(APIView):
    """Class teachers see their classes' students and change only the fields the school
    opened for the grade (系统设置); any other changed value refuses the edit."""

    permission_classes = [has_right(VIEW_RIGHTS, write=EDIT_RIGHTS)]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "reveal",
                str,
                description="1：显示完整的身份证件号、电话和G字头学籍号（与页面“显示完整号码”"
                "相同，记入审计日志）；不传则隐去部分",
            )
        ],
        responses=StudentDetailOutput,
        summary="学生详情（含家庭成员与记录）",
    )
    def get(self, request: Request, student_id: str) -> Response:
        student = _visible_student(request, student_id)
        asked = request.query_params.get("reveal", "") in REVEAL_ASKED
        reveal = reveal_grant(request, student, asked=asked)
        body = dict(StudentOutput(student, context={"reveal": reveal}).data)
        body["fields"] = fields_shown(services.student_snapshot(student), reveal=reveal)
        body["family"] = [
            {
                f.name: str(shown(f"m{m.slot}_{f.name}", getattr(m, f.name), reveal=reveal))
                for f in m._meta.concrete_fields
                if f.name not in {"id", "student"}
            }
            for m in student.family.all()
        ]
        body["history"] = [
            {
                "at": e.at,
                "actor": e.actor,
                "action": e.action,
                "from": e.from_state,
                "to": e.to_state,
                "reason": e.reason,
                "changes": changes_shown(e.changes, reveal=reveal),
            }
            for e in student.events.all()
        ]
        response = Response(body)
        if reveal:
            add_never_cache_headers(response)
        return response

    @extend_schema(request=StudentRecordInput, responses=StudentOutput, summary="修改学生信息")
    def put(self, request: Request, student_id: str) -> Response:
        student = _visible_student(request, student_id)
        if not policy.in_scope(policy.student_write_scope(request.user), student.school_class_id):
            raise PermissionDenied("您没有修改该班学生的权限。")
        updated = services.student_update(
            student_id=student.pk,
            raw=_raw(request.data),  # type: ignore[arg-type]
            actor=Actor.of(request.user),
            editable=policy.editable_fields(request.user, student.school_class),
        )
        return Response(StudentOutput(updated).data)


def _pks(uuids: list[Any]) -> list[int]:
    pks = list(Student.objects.filter(identifier__in=uuids).values_list("pk", flat=True))
    if len(pks) != len(set(uuids)):
        raise NotFound()
    return pks


class FilterSerializer(serializers.Serializer):
    """全选符合条件的学生: the list's own filters (GET /api/v1/students/)."""

    q = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)
    class_id = serializers.IntegerField(required=False, allow_null=True, default=None)
    status = serializers.ChoiceField(
        choices=Student.Status.choices, required=False, allow_blank=True, default=""
    )


class IdsOrFilterSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.UUIDField(), allow_empty=False, max_length=5000, required=False
    )
    filter = FilterSerializer(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("ids" in attrs) == ("filter" in attrs):
            raise serializers.ValidationError(
                "请给出 ids（勾选的学生）或 filter（符合条件的全部学生）之一。"
            )
        return attrs


class BulkStartedSerializer(serializers.Serializer):
    job_id = serializers.CharField(help_text="GET /api/v1/jobs/<job_id>/ 查看进度")
    matching = serializers.IntegerField(help_text="开始时符合条件的学生数")


def _bulk(request: Request, action: str, flt: dict[str, Any], reason: str = "") -> Response:
    from tenant_apps.registry.students.bulk import StudentFilter, students_bulk_start

    started = students_bulk_start(
        action=action,
        flt=StudentFilter.of(flt),
        reason=reason,
        actor=Actor.of(request.user),
        owner_id=request.user.pk,  # type: ignore[arg-type]
    )
    body = BulkStartedSerializer(started).data
    return Response(body, status=status.HTTP_202_ACCEPTED)


class StudentSubmitApi(APIView):
    """With `ids`: those students, at once. With `filter`: every 待提交 student the
    filter matches, as a background job (202 with the job to poll)."""

    permission_classes = [has_right(Right.REGISTRY_EDIT)]

    @extend_schema(
        request=IdsOrFilterSerializer,
        responses={
            200: inline_serializer("StudentSubmitDone", {"submitted": serializers.IntegerField()}),
            202: BulkStartedSerializer,
            404: ErrorResponse,  # an id that is no student of this school
        },
        summary="提交学校审核（可批量，或全选符合条件的学生）",
    )
    def post(self, request: Request) -> Response:
        from tenant_apps.registry.students.bulk import SUBMIT

        data = IdsOrFilterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if "filter" in v:
            return _bulk(request, SUBMIT, v["filter"])
        n = approval.students_submit(student_ids=_pks(v["ids"]), actor=Actor.of(request.user))
        return Response({"submitted": n})


class StudentSchoolDecisionApi(APIView):
    """With `ids`: those students, at once. With `filter`: every 待学校审核 student the
    filter matches except the caller's own submissions, as a background job (202)."""

    permission_classes = [has_right(Right.REGISTRY_APPROVE)]

    class InputSerializer(IdsOrFilterSerializer):
        approve = serializers.BooleanField()
        reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)

    @extend_schema(
        request=InputSerializer,
        responses={
            200: inline_serializer(
                "StudentSchoolDecisionDone", {"decided": serializers.IntegerField()}
            ),
            202: BulkStartedSerializer,
            404: ErrorResponse,  # an id that is no student of this school
        },
        summary="学校审核：通过或退回（可批量，或全选符合条件的学生）",
    )
    def post(self, request: Request) -> Response:
        from tenant_apps.registry.students.bulk import APPROVE, RETURN

        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if "filter" in v:
            return _bulk(request, APPROVE if v["approve"] else RETURN, v["filter"], v["reason"])
        n = approval.students_school_decide(
            student_ids=_pks(v["ids"]),
            approve=v["approve"],
            reason=v["reason"],
            actor=Actor.of(request.user),
        )
        return Response({"decided": n})


@sensitive(STUDENT_EXPORT)
class StudentExportApi(APIView):
    """The current list (same filters as the list) as .xlsx in national column order."""

    permission_classes = [has_right(Right.REGISTRY_VIEW)]

    @extend_schema(responses={(200, XLSX): bytes}, summary="导出学生名册")
    def get(self, request: Request) -> HttpResponse:
        from tenant_apps.registry.students.exports import students_export

        p = request.query_params
        class_id = p.get("class_id")
        qs = student_list(
            search=p.get("q", ""),
            status=p.get("status", ""),
            audit_state=p.get("audit_state", ""),
            class_id=int(class_id) if class_id and class_id.isdigit() else None,
        )
        response = HttpResponse(students_export(qs, request=request), content_type=XLSX)
        response["Content-Disposition"] = 'attachment; filename="students.xlsx"'
        return response


class ImportTemplateApi(APIView):
    permission_classes = [has_right(Right.REGISTRY_VIEW)]

    @extend_schema(responses={(200, XLSX): bytes}, summary="下载学生导入模板")
    def get(self, request: Request) -> HttpResponse:
        from tenant_apps.registry.imports.template import template_build

        school = request.tenant  # type: ignore[attr-defined]
        response = HttpResponse(
            template_build(school_name=school.name, school_code=school.code), content_type=XLSX
        )
        response["Content-Disposition"] = 'attachment; filename="student-template.xlsx"'
        return response


class ImportBatchOutput(serializers.Serializer):
    id = serializers.UUIDField()
    job_id = serializers.UUIDField(allow_null=True)
    filename = serializers.CharField()
    state = serializers.CharField()
    mode = serializers.CharField()
    counts = serializers.SerializerMethodField()
    errors = serializers.SerializerMethodField()  # type: ignore[assignment]
    duplicates = serializers.ListField(child=serializers.DictField())
    annotated_url = serializers.SerializerMethodField()

    def get_counts(self, batch: ImportBatch) -> dict[str, Any]:
        return report_counts_shown(batch.counts)

    def get_errors(self, batch: ImportBatch) -> list[dict[str, Any]]:
        return [report_row_shown(e) for e in batch.errors]

    def get_annotated_url(self, batch: ImportBatch) -> str:
        return default_storage.url(batch.annotated_key) if batch.annotated_key else ""


class ImportCreateApi(APIView):
    permission_classes = [has_right(Right.DATA_MANAGE)]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()

    @extend_schema(
        request=InputSerializer,
        responses={202: ImportBatchOutput},
        summary="上传导入文件（先校验，确认后才写入）",
    )
    def post(self, request: Request) -> Response:
        upload = request.FILES.get("file")
        if upload is None:
            raise ApplicationError(
                "请选择要上传的文件。", code="invalid", extra={"file": ["请选择文件。"]}
            )
        if upload.size and upload.size > 20 * 1024 * 1024:
            raise ApplicationError("文件超过20MB，请拆分后分批导入。", code="upload")
        batch = imports.import_start(
            filename=upload.name or "upload",
            data=upload.read(),
            actor=Actor.of(request.user),
            owner_id=request.user.pk,  # type: ignore[arg-type]
        )
        return Response(ImportBatchOutput(batch).data, status=status.HTTP_202_ACCEPTED)


class ImportDetailApi(APIView):
    permission_classes = [has_right(Right.DATA_MANAGE)]

    @extend_schema(responses=ImportBatchOutput, summary="导入校验报告")
    def get(self, request: Request, batch_id: str) -> Response:
        batch = import_batch_get(batch_id=batch_id)
        if batch is None:
            raise NotFound()
        return Response(ImportBatchOutput(batch).data)


class ImportConfirmApi(APIView):
    permission_classes = [has_right(Right.DATA_MANAGE)]

    class InputSerializer(serializers.Serializer):
        mode = serializers.ChoiceField(choices=ImportBatch.Mode.choices)
        # Columns with unknown headers were not read: "only the valid rows" needs this.
        acknowledge_headers = serializers.BooleanField(default=False)

    @extend_schema(
        request=InputSerializer,
        responses=inline_serializer(
            "ImportConfirmDone",
            {"written": serializers.IntegerField(), "skipped": serializers.IntegerField()},
        ),
        summary="确认导入",
    )
    def post(self, request: Request, batch_id: str) -> Response:
        if import_batch_get(batch_id=batch_id) is None:
            raise NotFound()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = imports.import_confirm(
            batch_id=batch_id,
            mode=data.validated_data["mode"],
            actor=Actor.of(request.user),
            acknowledge_headers=data.validated_data["acknowledge_headers"],
        )
        return Response(result)


class ProblemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    student_id = serializers.UUIDField(source="student.identifier")
    student_name = serializers.CharField(source="student.name")
    kind = serializers.CharField()
    kind_label = serializers.CharField(source="get_kind_display")
    state = serializers.CharField()
    others = serializers.ListField(child=serializers.DictField())
    created_at = serializers.DateTimeField()


class ProblemListApi(APIView):
    permission_classes = [has_right(Right.REGISTRY_EDIT)]

    @extend_schema(responses=ProblemOutput(many=True), summary="问题学籍列表")
    def get(self, request: Request) -> Response:
        return Response(ProblemOutput(problem_list(), many=True).data)


def _problem_or_404(problem_id: int) -> ProblemRecord:
    problem = ProblemRecord.objects.filter(pk=problem_id).first()
    if problem is None:
        raise NotFound()
    return problem


@sensitive(PROBLEM_DELETE)
class ProblemDeleteApi(APIView):
    permission_classes = [has_right(Right.REGISTRY_EDIT)]

    class InputSerializer(serializers.Serializer):
        reason = serializers.CharField(max_length=200)

    @extend_schema(request=InputSerializer, responses={204: None}, summary="问题学籍：删除")
    def post(self, request: Request, problem_id: int) -> Response:
        _problem_or_404(problem_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        problems.problem_delete(
            problem_id=problem_id,
            reason=data.validated_data["reason"],
            actor=Actor.of(request.user),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# A correction (变更): the record's fields as form fields, with the proof file (multipart).
ProblemCorrectInput = inline_serializer(
    name="ProblemCorrectInput",
    fields={
        **{
            c.key: serializers.CharField(required=False, allow_blank=True, help_text=c.header)
            for c in COLUMNS
        },
        "file": serializers.FileField(help_text="证明材料：户口簿本人页或身份证件复印件"),
        "note": serializers.CharField(required=False, allow_blank=True, max_length=300),
    },
)


class ProblemCorrectApi(APIView):
    permission_classes = [has_right(Right.REGISTRY_EDIT)]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request=ProblemCorrectInput, responses={204: None}, summary="问题学籍：修改（变更）"
    )
    def post(self, request: Request, problem_id: int) -> Response:
        _problem_or_404(problem_id)
        upload = request.FILES.get("file")
        problems.problem_correct(
            problem_id=problem_id,
            raw=_raw(request.data),  # type: ignore[arg-type]
            actor=Actor.of(request.user),
            proof_name=(upload.name or "proof") if upload is not None else "",
            proof_data=upload.read() if upload is not None else b"",
            note=str(request.data.get("note", "")),  # type: ignore[union-attr]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProblemEvidenceApi(APIView):
    permission_classes = [has_right(Right.REGISTRY_EDIT)]
    parser_classes = [MultiPartParser, FormParser]

    class InputSerializer(serializers.Serializer):
        file = serializers.FileField()
        note = serializers.CharField(max_length=300, required=False, default="")

    @extend_schema(
        request=InputSerializer,
        responses={
            201: inline_serializer(
                "ProblemEvidenceCreated", {"evidence_id": serializers.IntegerField()}
            )
        },
        summary="问题学籍：上传佐证",
    )
    def post(self, request: Request, problem_id: int) -> Response:
        _problem_or_404(problem_id)
        upload = request.FILES.get("file")
        if upload is None:
            raise ApplicationError(
                "请选择佐证文件。", code="invalid", extra={"file": ["请选择文件。"]}
            )
        evidence = problems.problem_evidence_upload(
            problem_id=problem_id,
            name=upload.name or "evidence",
            data=upload.read(),
            note=str(request.data.get("note", "")),  # type: ignore[union-attr]
            actor=Actor.of(request.user),
        )
        return Response({"evidence_id": evidence.pk}, status=status.HTTP_201_CREATED)
