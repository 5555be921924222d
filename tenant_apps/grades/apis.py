"""DRF API of grade entry: the subject teacher's cells, one grid read, one grid write.
Errors use the common format; a cell or student the user may not write is 404."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Right
from common.permissions import has_right
from tenant_apps.grades import selectors, services
from tenant_apps.grades.models import ClassCourse
from tenant_apps.grades.terms import current_term


def _cell(request: Request, class_course_id: int) -> ClassCourse:
    term = current_term()
    cell = selectors.class_course_get(class_course_id=class_course_id)
    if (
        cell is None
        or (cell.school_year, cell.term) != (term.school_year, term.term)
        or not selectors.cell_writable(request.user, cell)
    ):
        raise NotFound()
    return cell


class AssignmentListApi(APIView):
    """The cells the signed-in user may enter marks for in the current term."""

    permission_classes = [has_right(Right.GRADES_ENTER)]

    class OutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        class_id = serializers.IntegerField()
        class_name = serializers.CharField()
        course_code = serializers.CharField()
        course_name = serializers.CharField()
        school_year = serializers.CharField()
        term = serializers.IntegerField()
        via = serializers.CharField()
        student_count = serializers.IntegerField()
        marked = serializers.IntegerField()

    @extend_schema(responses=OutputSerializer(many=True), summary="本学期我的成绩录入任务")
    def get(self, request: Request) -> Response:
        cells = selectors.user_cells(request.user)
        return Response(self.OutputSerializer(cells, many=True).data)


class GridApi(APIView):
    """One grid: every student of the class with his or her mark in the cell's course."""

    permission_classes = [has_right(Right.GRADES_ENTER)]

    class RowSerializer(serializers.Serializer):
        row = serializers.IntegerField()
        student = serializers.CharField(source="identifier")
        number = serializers.IntegerField(allow_null=True)
        name = serializers.CharField()
        level = serializers.CharField(source="level_name")
        score = serializers.CharField()
        entered_by = serializers.CharField()
        entered_at = serializers.DateTimeField(allow_null=True)

    class InputRowSerializer(serializers.Serializer):
        student = serializers.CharField()
        level = serializers.CharField(allow_blank=True, required=False, default="")
        score = serializers.CharField(allow_blank=True, allow_null=True, required=False, default="")

    class InputSerializer(serializers.Serializer):
        exam_date = serializers.CharField(allow_blank=True, required=False, default="")
        rows = serializers.ListField(allow_empty=False, max_length=500)

    class GridSerializer(serializers.Serializer):
        """What `_out` builds (documentation of the body; the view does not use it)."""

        id = serializers.IntegerField()
        class_name = serializers.CharField()
        course_code = serializers.CharField()
        course_name = serializers.CharField()
        school_year = serializers.CharField()
        term = serializers.IntegerField()
        levels = serializers.ListField(child=serializers.CharField())

    def _out(self, cell: ClassCourse) -> dict[str, object]:
        return {
            "id": cell.pk,
            "class_name": cell.school_class.name,
            "course_code": cell.course.code,
            "course_name": cell.course.name,
            "school_year": cell.school_year,
            "term": cell.term,
            "levels": ["优秀", "良好", "合格", "不合格"],
            "rows": self.RowSerializer(selectors.grid_rows(cell), many=True).data,
        }

    @extend_schema(
        summary="读取一个班级一门课程的成绩单",
        responses=inline_serializer(
            "Grid",
            {**GridSerializer().get_fields(), "rows": RowSerializer(many=True)},
        ),
    )
    def get(self, request: Request, class_course_id: int) -> Response:
        return Response(self._out(_cell(request, class_course_id)))

    @extend_schema(
        # Documents each row's shape; InputSerializer keeps rows loose so that a bad row
        # is refused with its row number (below).
        request=inline_serializer(
            "GridInput",
            {
                "exam_date": serializers.CharField(allow_blank=True, required=False),
                "rows": InputRowSerializer(many=True, max_length=500, allow_empty=False),  # type: ignore[call-arg]
            },
        ),
        summary="保存成绩单（一个事务；rows 为 {student, level, score}）",
        responses=inline_serializer(
            "GridSaved",
            {
                **GridSerializer().get_fields(),
                "rows": RowSerializer(many=True),
                "result": inline_serializer(
                    "GridSaveResult",
                    {
                        "saved": serializers.IntegerField(),
                        "cleared": serializers.IntegerField(),
                        "unchanged": serializers.IntegerField(),
                    },
                ),
            },
        ),
    )
    def post(self, request: Request, class_course_id: int) -> Response:
        cell = _cell(request, class_course_id)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rows = []
        for i, raw in enumerate(data.validated_data["rows"]):
            row = self.InputRowSerializer(data=raw if isinstance(raw, dict) else {})
            if not row.is_valid():
                raise serializers.ValidationError(
                    {f"rows[{i}]": [f"第{i + 1}条数据格式错误：应包含 student、level、score。"]}
                )
            rows.append(row.validated_data)
        try:
            result = services.marks_save(
                user=request.user,
                class_course_id=cell.pk,
                rows=rows,
                exam_date=data.validated_data["exam_date"],
                request=request,
            )
        except Http404 as exc:
            raise NotFound() from exc
        body = self._out(cell)
        body["result"] = {
            "saved": result.saved,
            "cleared": result.cleared,
            "unchanged": result.unchanged,
        }
        return Response(body)
