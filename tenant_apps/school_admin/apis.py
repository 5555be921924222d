"""The set-up API of a school's host: /api/v1/school/ (profile, grades, staff to pick from,
the start-of-year checklist) and /api/v1/classes/ (classes). Thin: each write calls one
service (tenants.profile, registry.classes.services); refusals come back in the one error format
with the field named."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Right
from common.actor import Actor
from common.permissions import has_right
from tenant_apps.registry.classes import services as classes
from tenant_apps.registry.models import STAGE_NAME, ClassType
from tenant_apps.registry.students.selectors import registry_counts
from tenant_apps.school_admin import selectors
from tenants.models import School, SchoolType, Sponsor
from tenants.profile import LABELS, CampusInput, ProfileInput, school_profile_update

STAGES = list(STAGE_NAME)


def _school(request: Request) -> School:
    return request.tenant  # type: ignore[attr-defined,no-any-return]


class CampusSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=60, allow_blank=True)
    address = serializers.CharField(max_length=200, allow_blank=True, required=False, default="")
    phone = serializers.CharField(max_length=20, allow_blank=True, required=False, default="")


class SchoolInfoApi(APIView):
    """The school of this host: the bureau's fields (read-only here), the school's own
    profile and campuses, and the headline counts. PUT replaces the profile, PATCH
    changes the fields given; both mark it reviewed."""

    permission_classes = [has_right(Right.SCHOOL_VIEW, write=Right.SCHOOL_MANAGE)]

    class OutputSerializer(serializers.Serializer):
        name = serializers.CharField()
        code = serializers.CharField()
        stages = serializers.ListField(child=serializers.CharField())
        county = serializers.CharField(source="county_id")
        address = serializers.CharField()
        location_code = serializers.CharField()
        postcode = serializers.CharField()
        principal = serializers.CharField()
        phone = serializers.CharField()
        school_type = serializers.CharField()
        sponsor = serializers.CharField()
        email = serializers.CharField()
        website = serializers.CharField()
        intro = serializers.CharField()
        campuses = CampusSerializer(many=True, source="campuses.all")
        profile_reviewed_at = serializers.DateTimeField(allow_null=True)
        status = serializers.CharField()
        counts = serializers.DictField(child=serializers.IntegerField())

    class InputSerializer(serializers.Serializer):
        address = serializers.CharField(max_length=200, allow_blank=True, required=False)
        location_code = serializers.CharField(max_length=20, allow_blank=True, required=False)
        postcode = serializers.CharField(max_length=10, allow_blank=True, required=False)
        principal = serializers.CharField(max_length=50, allow_blank=True, required=False)
        phone = serializers.CharField(max_length=30, allow_blank=True, required=False)
        school_type = serializers.ChoiceField(
            choices=[("", ""), *SchoolType.choices], allow_blank=True, required=False
        )
        sponsor = serializers.ChoiceField(
            choices=[("", ""), *Sponsor.choices], allow_blank=True, required=False
        )
        email = serializers.CharField(max_length=100, allow_blank=True, required=False)
        website = serializers.CharField(max_length=200, allow_blank=True, required=False)
        intro = serializers.CharField(max_length=2000, allow_blank=True, required=False)
        campuses = CampusSerializer(many=True, required=False)

    def _out(self, request: Request) -> Response:
        school = School.objects.get(pk=_school(request).pk)
        school.counts = registry_counts()
        return Response(self.OutputSerializer(school).data)

    @extend_schema(responses=OutputSerializer, summary="本校信息与人数")
    def get(self, request: Request) -> Response:
        return self._out(request)

    def _save(self, request: Request, *, partial: bool) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        given: dict[str, Any] = dict(data.validated_data)
        school = School.objects.get(pk=_school(request).pk)
        values = {
            name: given.get(name, getattr(school, name) if partial else "") for name in LABELS
        }
        campuses = given.get("campuses")
        if campuses is None:
            campuses = (
                [
                    {"name": c.name, "address": c.address, "phone": c.phone}
                    for c in school.campuses.all()
                ]
                if partial
                else []
            )
        school_profile_update(
            school_id=school.pk,
            data=ProfileInput(**values, campuses=tuple(CampusInput(**c) for c in campuses)),
            actor=Actor.of(request.user),
            request=request,
        )
        return self._out(request)

    @extend_schema(request=InputSerializer, responses=OutputSerializer, summary="修改本校信息")
    def put(self, request: Request) -> Response:
        return self._save(request, partial=False)

    @extend_schema(request=InputSerializer, responses=OutputSerializer, summary="修改部分本校信息")
    def patch(self, request: Request) -> Response:
        return self._save(request, partial=True)


class StaffChoiceSerializer(serializers.Serializer):
    username = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]


class StaffListApi(APIView):
    """The school's active accounts, to pick a 班主任 or 年级段长 from."""

    permission_classes = [has_right(Right.CLASSES_MANAGE)]

    @extend_schema(responses=StaffChoiceSerializer(many=True), summary="可选的本校用户")
    def get(self, request: Request) -> Response:
        return Response(StaffChoiceSerializer(selectors.staff_choices(), many=True).data)


class GradeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    stage = serializers.CharField()
    entry_year = serializers.IntegerField()
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    graduated = serializers.BooleanField()
    classes = serializers.IntegerField()
    head_name = serializers.CharField()
    head_username = serializers.CharField()


def _grade_out(grade_id: int) -> dict[str, Any]:
    row = next((g for g in selectors.grade_rows() if g.id == grade_id), None)
    if row is None:
        raise NotFound()
    return dict(GradeOutput(row).data)


class GradeListApi(APIView):
    """Grades, graduated ones included. POST without `entry_year` adds the grade of the
    coming intake."""

    permission_classes = [has_right(Right.SCHOOL_VIEW, write=Right.CLASSES_MANAGE)]

    class InputSerializer(serializers.Serializer):
        stage = serializers.ChoiceField(choices=STAGES)
        entry_year = serializers.IntegerField(min_value=1990, max_value=2100, required=False)

    @extend_schema(responses=GradeOutput(many=True), summary="本校年级")
    def get(self, request: Request) -> Response:
        return Response(GradeOutput(selectors.grade_rows(), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: GradeOutput}, summary="新建年级")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        stage, year = data.validated_data["stage"], data.validated_data.get("entry_year")
        actor, stages = Actor.of(request.user), _school(request).stages
        grade = (
            classes.grade_add_intake(
                stage=stage, school_stages=stages, actor=actor, request=request
            )
            if year is None
            else classes.grade_create(
                stage=stage, entry_year=year, school_stages=stages, actor=actor, request=request
            )
        )
        return Response(_grade_out(grade.pk), status=status.HTTP_201_CREATED)


class GradeDetailApi(APIView):
    """One grade: its 年级段长 (a user of the school, or a name); delete when empty."""

    permission_classes = [has_right(Right.SCHOOL_VIEW, write=Right.CLASSES_MANAGE)]

    class InputSerializer(serializers.Serializer):
        head_username = serializers.CharField(max_length=150, allow_blank=True, required=False)
        head_name = serializers.CharField(max_length=100, allow_blank=True, required=False)

    @extend_schema(responses=GradeOutput, summary="年级详情")
    def get(self, request: Request, grade_id: int) -> Response:
        return Response(_grade_out(grade_id))

    @extend_schema(request=InputSerializer, responses=GradeOutput, summary="设置年级段长")
    def patch(self, request: Request, grade_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        classes.grade_update(
            grade_id=grade_id, **data.validated_data, actor=Actor.of(request.user), request=request
        )
        return Response(_grade_out(grade_id))

    @extend_schema(responses={204: None}, summary="删除没有班级的年级")
    def delete(self, request: Request, grade_id: int) -> Response:
        classes.grade_delete(grade_id=grade_id, actor=Actor.of(request.user), request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClassOutput(serializers.Serializer):
    id = serializers.IntegerField()
    class_no = serializers.CharField()
    name = serializers.CharField()
    stage = serializers.CharField()
    entry_year = serializers.IntegerField()
    grade_label = serializers.CharField()
    class_type = serializers.CharField()
    class_type_label = serializers.CharField()
    composite_years = serializers.ListField(child=serializers.IntegerField())
    teacher_username = serializers.CharField()
    teacher_name = serializers.CharField(source="teacher_label")
    student_count = serializers.IntegerField(source="students")


def _class_out(class_id: int) -> dict[str, Any]:
    row = next((c for c in selectors.class_rows() if c.id == class_id), None)
    if row is None:
        raise NotFound()
    return dict(ClassOutput(row).data)


class ClassListApi(APIView):
    """Classes of the school. POST adds one: a grade and its 7-digit class number
    (`grade_id`, `class_no`), or `stage`, `entry_year` and `number`."""

    permission_classes = [has_right(Right.SCHOOL_VIEW, write=Right.CLASSES_MANAGE)]

    class InputSerializer(serializers.Serializer):
        grade_id = serializers.IntegerField(required=False)
        class_no = serializers.CharField(max_length=20, required=False)
        stage = serializers.ChoiceField(choices=STAGES, required=False)
        entry_year = serializers.IntegerField(min_value=1990, max_value=2100, required=False)
        number = serializers.IntegerField(min_value=1, max_value=99, required=False)
        class_type = serializers.ChoiceField(
            choices=[("", ""), *ClassType.choices], allow_blank=True, required=False, default=""
        )
        teacher_username = serializers.CharField(
            max_length=150, allow_blank=True, required=False, default=""
        )
        composite_years = serializers.ListField(
            child=serializers.IntegerField(), required=False, default=list
        )

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            by_grade = "grade_id" in attrs and "class_no" in attrs
            by_parts = all(k in attrs for k in ("stage", "entry_year", "number"))
            if not (by_grade or by_parts):
                raise serializers.ValidationError(
                    "请填写年级和 7 位班级编号（grade_id、class_no），"
                    "或学段、入学年份和班号（stage、entry_year、number）。"
                )
            return attrs

    @extend_schema(responses=ClassOutput(many=True), summary="本校班级")
    def get(self, request: Request) -> Response:
        return Response(ClassOutput(selectors.class_rows(), many=True).data)

    @extend_schema(request=InputSerializer, responses={201: ClassOutput}, summary="新建班级")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        common = {
            "class_type": v["class_type"],
            "teacher_username": v["teacher_username"],
            "composite_years": v["composite_years"],
        }
        if "grade_id" in v and "class_no" in v:
            klass = classes.class_add(
                grade_id=v["grade_id"],
                class_no=v["class_no"],
                **common,
                actor=Actor.of(request.user),
                request=request,
            )
        else:
            klass = classes.class_create(
                stage=v["stage"],
                entry_year=v["entry_year"],
                number=v["number"],
                **common,
                actor=Actor.of(request.user),
                request=request,
            )
        return Response(_class_out(klass.pk), status=status.HTTP_201_CREATED)


class ClassDetailApi(APIView):
    """One class: change its type and 班主任, or delete it when it has no students."""

    permission_classes = [has_right(Right.SCHOOL_VIEW, write=Right.CLASSES_MANAGE)]

    class InputSerializer(serializers.Serializer):
        class_type = serializers.ChoiceField(choices=ClassType.choices, required=False)
        teacher_username = serializers.CharField(max_length=150, allow_blank=True, required=False)
        composite_years = serializers.ListField(child=serializers.IntegerField(), required=False)

    @extend_schema(responses=ClassOutput, summary="班级详情")
    def get(self, request: Request, class_id: int) -> Response:
        return Response(_class_out(class_id))

    @extend_schema(request=InputSerializer, responses=ClassOutput, summary="修改班级")
    def patch(self, request: Request, class_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        current = next((c for c in selectors.class_rows() if c.id == class_id), None)
        if current is None:
            raise NotFound()
        v = data.validated_data
        classes.class_update(
            class_id=class_id,
            class_type=v.get("class_type", current.class_type),
            teacher_username=v.get("teacher_username", current.teacher_username),
            composite_years=v.get("composite_years", current.composite_years),
            actor=Actor.of(request.user),
            request=request,
        )
        return Response(_class_out(class_id))

    @extend_schema(responses={204: None}, summary="删除班级（须无学生）")
    def delete(self, request: Request, class_id: int) -> Response:
        classes.class_delete(class_id=class_id, actor=Actor.of(request.user), request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ClassMergeApi(APIView):
    """Merge this class into another of the same grade: its students move there."""

    permission_classes = [has_right(Right.CLASSES_MANAGE)]

    class InputSerializer(serializers.Serializer):
        target_id = serializers.IntegerField()

    @extend_schema(request=InputSerializer, responses=ClassOutput, summary="合并班级")
    def post(self, request: Request, class_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        target = data.validated_data["target_id"]
        classes.class_merge(
            source_id=class_id, target_id=target, actor=Actor.of(request.user), request=request
        )
        return Response(_class_out(target))


class ClassCopyApi(APIView):
    """Copy the previous intake's classes (numbers, types) to the coming intake."""

    permission_classes = [has_right(Right.CLASSES_MANAGE)]

    class InputSerializer(serializers.Serializer):
        stage = serializers.ChoiceField(choices=STAGES)

    @extend_schema(
        request=InputSerializer, responses={201: ClassOutput(many=True)}, summary="复制上一级班级"
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        made = classes.classes_copy_to_intake(
            stage=data.validated_data["stage"],
            school_stages=_school(request).stages,
            actor=Actor.of(request.user),
            request=request,
        )
        ids = {c.pk for c in made}
        rows = [c for c in selectors.class_rows() if c.id in ids]
        return Response(ClassOutput(rows, many=True).data, status=status.HTTP_201_CREATED)


class CheckLineSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    done = serializers.BooleanField()
    detail = serializers.CharField()
    url = serializers.CharField()


class ChecklistApi(APIView):
    """学年初始化: what the coming school year still needs."""

    permission_classes = [has_right(Right.SCHOOL_MANAGE)]

    @extend_schema(responses=CheckLineSerializer(many=True), summary="学年初始化清单")
    def get(self, request: Request) -> Response:
        lines = selectors.checklist(school_id=_school(request).pk)
        return Response(CheckLineSerializer(lines, many=True).data)
