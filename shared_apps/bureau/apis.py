from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Right
from common.permissions import Authenticated, has_right
from common.schema import paginated
from shared_apps.bureau.selectors import QueueFilter, access_school, access_schools, bureau_list
from shared_apps.bureau.services import bureau_open, school_open
from shared_apps.regions.models import Region
from tenants.models import School
from tenants.services import AdminInput, SchoolInput, school_set_status


class SchoolOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    code = serializers.CharField()
    host = serializers.SerializerMethodField()
    county = serializers.CharField(source="county_id")
    county_name = serializers.CharField(source="county.name")
    stages = serializers.ListField(child=serializers.CharField())
    status = serializers.CharField()
    provisioning = serializers.CharField()
    students = serializers.SerializerMethodField()

    def get_host(self, school: School) -> str:
        return f"{school.slug}.{self.context['base_domain']}"

    def get_students(self, school: School) -> int:
        stats = getattr(school, "stats", None)
        return stats.students if stats else 0


class CampusOutput(serializers.Serializer):
    name = serializers.CharField()
    address = serializers.CharField()
    phone = serializers.CharField()


class SchoolDetailOutput(SchoolOutput):
    """The list's fields plus the profile the school keeps itself (tenants.profile)."""

    address = serializers.CharField()
    location_code = serializers.CharField()
    postcode = serializers.CharField()
    principal = serializers.CharField()
    phone = serializers.CharField()
    school_type = serializers.CharField(source="get_school_type_display")
    sponsor = serializers.CharField(source="get_sponsor_display")
    email = serializers.CharField()
    website = serializers.CharField()
    intro = serializers.CharField()
    campuses = CampusOutput(many=True, source="campuses.all")
    profile_reviewed_at = serializers.DateTimeField(allow_null=True)


def _context(request: Request) -> dict[str, str]:
    return {"base_domain": request.get_host().split(":")[0]}


class SchoolListCreateApi(APIView):
    permission_classes = [has_right(Right.BUREAU_SCHOOLS_VIEW, write=Right.BUREAU_SCHOOLS_MANAGE)]

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=100)
        code = serializers.CharField(max_length=20)
        slug = serializers.CharField(max_length=40)
        county_code = serializers.CharField(max_length=12)
        stages = serializers.ListField(child=serializers.ChoiceField(choices=School.Stage.choices))
        address = serializers.CharField(max_length=200, required=False, default="")
        principal = serializers.CharField(max_length=50, required=False, default="")
        phone = serializers.CharField(max_length=20, required=False, default="")
        admin_username = serializers.CharField(max_length=30)
        admin_full_name = serializers.CharField(max_length=50)

    class CreatedSerializer(serializers.Serializer):
        school_id = serializers.IntegerField(source="school.school_id")
        host = serializers.CharField(source="school.host")
        admin_username = serializers.CharField(source="school.admin_username")
        admin_initial_password = serializers.CharField(
            source="school.admin_initial_password", help_text="仅显示这一次"
        )
        job_id = serializers.CharField()

    @extend_schema(responses=SchoolOutput(many=True), summary="辖区学校列表")
    def get(self, request: Request) -> Response:
        schools = access_schools(user=request.user).order_by("code")  # type: ignore[arg-type]
        return Response(SchoolOutput(schools, many=True, context=_context(request)).data)

    @extend_schema(request=InputSerializer, responses={201: CreatedSerializer}, summary="开通学校")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = dict(data.validated_data)
        admin = AdminInput(username=d.pop("admin_username"), full_name=d.pop("admin_full_name"))
        opened = school_open(data=SchoolInput(**d), admin=admin, acting_user=request.user)  # type: ignore[arg-type]
        return Response(self.CreatedSerializer(opened).data, status=status.HTTP_201_CREATED)


class SchoolDetailApi(APIView):
    permission_classes = [has_right(Right.BUREAU_SCHOOLS_VIEW)]

    @extend_schema(responses=SchoolDetailOutput, summary="学校详情")
    def get(self, request: Request, school_id: int) -> Response:
        school = access_school(user=request.user, school_id=school_id)  # type: ignore[arg-type]
        if school is None:
            raise NotFound()
        return Response(SchoolDetailOutput(school, context=_context(request)).data)


class SchoolStatusApi(APIView):
    """Suspend or re-open a school; data is kept either way."""

    permission_classes = [has_right(Right.BUREAU_SCHOOLS_MANAGE)]

    class InputSerializer(serializers.Serializer):
        status = serializers.ChoiceField(choices=School.Status.choices)

    @extend_schema(request=InputSerializer, responses=SchoolOutput, summary="停用或启用学校")
    def post(self, request: Request, school_id: int) -> Response:
        if access_school(user=request.user, school_id=school_id) is None:  # type: ignore[arg-type]
            raise NotFound()
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        school_set_status(
            school_id=school_id,
            status=data.validated_data["status"],
            scope=request.user.region,  # type: ignore[union-attr]
        )
        school = access_school(user=request.user, school_id=school_id)  # type: ignore[arg-type]
        return Response(SchoolOutput(school, context=_context(request)).data)


class BureauListCreateApi(APIView):
    permission_classes = [has_right(Right.PLATFORM_BUREAUS_MANAGE)]

    class InputSerializer(serializers.Serializer):
        region_code = serializers.CharField(max_length=12)
        name = serializers.CharField(max_length=60)
        officer_username = serializers.CharField(max_length=30)
        officer_name = serializers.CharField(max_length=50)

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()
        region = serializers.CharField(source="region_id")
        region_name = serializers.CharField(source="region.name")

    class CreatedSerializer(serializers.Serializer):
        bureau_id = serializers.IntegerField()
        name = serializers.CharField()
        officer_username = serializers.CharField(source="officer.username")
        officer_initial_password = serializers.CharField(
            source="officer.initial_password", help_text="仅显示这一次"
        )

    @extend_schema(responses=OutputSerializer(many=True), summary="教育局列表")
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(bureau_list(), many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={201: CreatedSerializer},
        summary="开通教育局及首位管理员",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        created = bureau_open(**data.validated_data)
        return Response(self.CreatedSerializer(created).data, status=status.HTTP_201_CREATED)


class RegionListApi(APIView):
    """Children of a division (provinces when no parent is given)."""

    permission_classes = [Authenticated]

    class OutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        name = serializers.CharField()
        level = serializers.IntegerField()

    @extend_schema(
        parameters=[OpenApiParameter("parent", str, description="上级12位代码")],
        responses=OutputSerializer(many=True),
        summary="行政区划",
    )
    def get(self, request: Request) -> Response:
        parent = request.query_params.get("parent")
        qs = (
            Region.objects.filter(parent_id=parent)
            if parent
            else Region.objects.filter(level=Region.Level.PROVINCE)
        )
        return Response(self.OutputSerializer(qs.order_by("code"), many=True).data)


def _queue_filter(request: Request) -> QueueFilter:
    """The query's filters, read as the page reads them: a malformed value is ignored
    (the list is then wider, never another region's)."""
    return QueueFilter.of(request.query_params)


QUEUE_PARAMETERS = [
    OpenApiParameter("school_id", int, description="学校"),
    OpenApiParameter("min_days", int, description="已等待至少天数"),
    OpenApiParameter("page", int),
]


class CountyAuditListApi(APIView):
    """Students of the bureau's schools awaiting its audit, masked, oldest first: every
    one of them, page by page."""

    permission_classes = [has_right(Right.BUREAU_AUDIT)]

    class OutputSerializer(serializers.Serializer):
        school_id = serializers.IntegerField()
        school_name = serializers.CharField()
        student_uuid = serializers.CharField()
        name = serializers.CharField(help_text="已隐去部分信息")
        id_number = serializers.CharField(help_text="已隐去部分信息")
        stage = serializers.CharField()
        entry_year = serializers.IntegerField()
        since = serializers.DateTimeField(allow_null=True, help_text="开始等待教育局审核的时间")
        waiting_days = serializers.IntegerField()

    @extend_schema(
        parameters=QUEUE_PARAMETERS,
        responses=paginated(OutputSerializer, "PaginatedCountyAuditList"),
        summary="待教育局审核的学生（分页，最早的在前）",
        operation_id="v1_audit_students_list",
    )
    def get(self, request: Request) -> Response:
        from rest_framework.pagination import PageNumberPagination

        from shared_apps.bureau.selectors import county_audit_entries
        from shared_apps.bureau.services import county_audit_rows

        flt = _queue_filter(request)
        entries = county_audit_entries(
            user=request.user,  # type: ignore[arg-type]
            school_id=flt.school_id,
            min_days=flt.min_days,
        )
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(entries, request, view=self)
        rows = county_audit_rows(user=request.user, entries=list(page or []))  # type: ignore[arg-type]
        return paginator.get_paginated_response(self.OutputSerializer(rows, many=True).data)


class CountyQueueApi(APIView):
    """The page 学籍审核's table: everything waiting for the county (registrations and
    佐证), masked, oldest first, filtered like the page. `batchable` says whether the
    item may be decided in a batch (registrations: POST /api/v1/audit/students/decision/);
    a 佐证 is decided alone (POST /api/v1/audit/evidence/<review_id>/decision/)."""

    permission_classes = [has_right(Right.BUREAU_AUDIT)]

    class OutputSerializer(serializers.Serializer):
        kind = serializers.CharField(help_text="registration 或 evidence")
        kind_label = serializers.CharField()
        school_id = serializers.IntegerField()
        school_name = serializers.CharField()
        ref = serializers.CharField(help_text="registration：学生 uuid；evidence：佐证审核编号")
        student_uuid = serializers.CharField()
        name = serializers.CharField(help_text="已隐去部分信息")
        id_number = serializers.CharField(help_text="已隐去部分信息")
        since = serializers.DateTimeField()
        waiting_days = serializers.IntegerField()
        batchable = serializers.BooleanField()

    @extend_schema(
        parameters=[
            *QUEUE_PARAMETERS,
            OpenApiParameter("kind", str, enum=["registration", "evidence"]),
        ],
        responses=paginated(OutputSerializer, "PaginatedCountyQueue"),
        summary="教育局待审核事项：学籍注册与佐证材料（分页，最早的在前）",
        operation_id="v1_audit_queue_list",
    )
    def get(self, request: Request) -> Response:
        from rest_framework.pagination import PageNumberPagination

        from shared_apps.bureau.selectors import county_queue
        from shared_apps.bureau.services import county_queue_rows

        queue = county_queue(user=request.user, flt=_queue_filter(request))  # type: ignore[arg-type]
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(queue, request, view=self)
        rows = county_queue_rows(user=request.user, rows=list(page or []))  # type: ignore[arg-type]
        return paginator.get_paginated_response(self.OutputSerializer(rows, many=True).data)


class SectionOutput(serializers.Serializer):
    # A declared field named "label" (the metaclass moves it out of the class attributes;
    # the stubs only see it shadow Field.label).
    label = serializers.CharField()  # type: ignore[assignment]
    rows = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2),
        help_text="[项目, 内容] 对",
    )


class ReviewRecordOutput(serializers.Serializer):
    """A record opened for review: real values, nothing masked."""

    student_uuid = serializers.CharField()
    name = serializers.CharField()
    sex = serializers.CharField()
    birth_date = serializers.DateField(allow_null=True)
    id_type = serializers.CharField()
    id_number = serializers.CharField()
    household_region = serializers.CharField()
    household_type = serializers.CharField()
    national_number = serializers.CharField()
    class_name = serializers.CharField()
    audit_state = serializers.CharField()
    sections = SectionOutput(many=True)


class CountyAuditRecordApi(APIView):
    """One registration waiting for the county, opened: the record with its real values
    (name, ID number, birth date, 户口, family members), as on the page. Each call is
    one read.reveal entry in the bureau's audit log; 404 outside the caller's region or
    when the student does not wait for the county."""

    permission_classes = [has_right(Right.BUREAU_AUDIT)]

    class OutputSerializer(serializers.Serializer):
        school_id = serializers.IntegerField()
        school_name = serializers.CharField()
        since = serializers.DateTimeField()
        waiting_days = serializers.IntegerField()
        record = ReviewRecordOutput()

    @extend_schema(responses=OutputSerializer, summary="打开待审核的学生：完整信息（记入审计日志）")
    def get(self, request: Request, school_id: int, student_id: object) -> Response:
        from shared_apps.bureau.services import county_registration_open

        opened = county_registration_open(
            request=request,
            user=request.user,  # type: ignore[arg-type]
            school_id=school_id,
            student_uuid=student_id,  # type: ignore[arg-type]
        )
        if opened is None:
            raise NotFound()
        return Response(self.OutputSerializer(opened).data)


class CountyAuditDecisionApi(APIView):
    """With `items`: those students, in one transaction. With `filter`: every student of
    the queue the filter matches (optionally one school), as a background job: 202 with
    the job to poll at GET /api/v1/jobs/<job_id>/."""

    permission_classes = [has_right(Right.BUREAU_AUDIT)]

    class ItemSerializer(serializers.Serializer):
        school_id = serializers.IntegerField()
        student_uuid = serializers.UUIDField()

    class FilterSerializer(serializers.Serializer):
        school_id = serializers.IntegerField(required=False, allow_null=True, default=None)

    class InputSerializer(serializers.Serializer):
        items = serializers.ListField(allow_empty=False, max_length=5000, required=False)
        filter = serializers.DictField(required=False)
        approve = serializers.BooleanField()
        reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)

        def validate(self, attrs: dict[str, object]) -> dict[str, object]:
            if ("items" in attrs) == ("filter" in attrs):
                raise serializers.ValidationError(
                    "请给出 items（勾选的学生）或 filter（符合条件的全部学生）之一。"
                )
            return attrs

    class StartedSerializer(serializers.Serializer):
        job_id = serializers.CharField()
        matching = serializers.IntegerField()

    @extend_schema(
        # As InputSerializer, with the shapes of `items` and `filter` (checked below).
        request=inline_serializer(
            "CountyAuditDecisionInput",
            {
                "items": ItemSerializer(many=True, required=False),
                "filter": FilterSerializer(required=False),
                "approve": serializers.BooleanField(),
                "reason": serializers.CharField(required=False, allow_blank=True, max_length=300),
            },
        ),
        responses={
            200: inline_serializer("CountyAuditDecided", {"decided": serializers.IntegerField()}),
            202: StartedSerializer,
        },
        summary="教育局审核：通过或退回（可批量，或全选符合条件的学生）",
    )
    def post(self, request: Request) -> Response:
        from shared_apps.bureau.services import county_decide, county_decide_start

        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        if "filter" in v:
            flt = self.FilterSerializer(data=v["filter"])
            flt.is_valid(raise_exception=True)
            started = county_decide_start(
                user=request.user,  # type: ignore[arg-type]
                school_id=flt.validated_data["school_id"],
                approve=v["approve"],
                reason=v["reason"],
            )
            return Response(self.StartedSerializer(started).data, status=status.HTTP_202_ACCEPTED)
        items = self.ItemSerializer(data=v["items"], many=True)
        items.is_valid(raise_exception=True)
        n = county_decide(
            user=request.user,  # type: ignore[arg-type]
            items=[(i["school_id"], str(i["student_uuid"])) for i in items.validated_data],
            approve=v["approve"],
            reason=v["reason"],
        )
        return Response({"decided": n})


class EvidenceListApi(APIView):
    """Pending 佐证 of the caller's schools, oldest first, filtered like the page; the
    student masked, the file linked. Opening one (GET .../<review_id>/) shows the
    student's real values."""

    permission_classes = [has_right(Right.BUREAU_AUDIT)]

    class OutputSerializer(serializers.Serializer):
        review_id = serializers.IntegerField()
        school_name = serializers.CharField()
        name = serializers.CharField()
        id_number = serializers.CharField()
        kind = serializers.CharField()
        note = serializers.CharField()
        file_url = serializers.CharField()
        original_name = serializers.CharField()

    @extend_schema(
        parameters=QUEUE_PARAMETERS,
        responses=paginated(OutputSerializer, "PaginatedEvidenceList"),
        summary="待审核的佐证材料（分页）",
        operation_id="v1_audit_evidence_list",
    )
    def get(self, request: Request) -> Response:
        from rest_framework.pagination import PageNumberPagination

        from shared_apps.bureau.selectors import evidence_reviews
        from shared_apps.bureau.services import evidence_rows

        paginator = PageNumberPagination()
        reviews = evidence_reviews(user=request.user, flt=_queue_filter(request))  # type: ignore[arg-type]
        page = paginator.paginate_queryset(reviews, request, view=self)
        rows = evidence_rows(user=request.user, reviews=list(page or []))  # type: ignore[arg-type]
        return paginator.get_paginated_response(self.OutputSerializer(rows, many=True).data)


class OpenedEvidenceOutput(serializers.Serializer):
    kind = serializers.CharField(help_text="问题类型")
    note = serializers.CharField(help_text="学校说明")
    file_url = serializers.CharField()
    original_name = serializers.CharField()
    record = ReviewRecordOutput()


class EvidenceRecordApi(APIView):
    """One pending 佐证, opened: the file link, the school's note and the student's real
    values, as on the page. Each call is one read.reveal entry; 404 outside the
    caller's region."""

    permission_classes = [has_right(Right.BUREAU_AUDIT)]

    class OutputSerializer(serializers.Serializer):
        review_id = serializers.IntegerField()
        school_name = serializers.CharField()
        since = serializers.DateTimeField()
        waiting_days = serializers.IntegerField()
        evidence = OpenedEvidenceOutput()

    @extend_schema(
        responses=OutputSerializer, summary="打开待审核的佐证：材料与学生完整信息（记入审计日志）"
    )
    def get(self, request: Request, review_id: int) -> Response:
        from shared_apps.bureau.services import county_evidence_open

        opened = county_evidence_open(
            request=request,
            user=request.user,  # type: ignore[arg-type]
            review_id=review_id,
        )
        if opened is None:
            raise NotFound()
        return Response(self.OutputSerializer(opened).data)


class EvidenceDecisionApi(APIView):
    permission_classes = [has_right(Right.BUREAU_AUDIT)]

    class InputSerializer(serializers.Serializer):
        accept = serializers.BooleanField()
        reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)

    @extend_schema(request=InputSerializer, responses={204: None}, summary="佐证审核：通过或不通过")
    def post(self, request: Request, review_id: int) -> Response:
        from shared_apps.bureau.services import evidence_review_decide

        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        evidence_review_decide(user=request.user, review_id=review_id, **data.validated_data)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)
