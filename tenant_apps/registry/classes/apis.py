"""人籍一致 API on a school's host, as the class page has it: the classes the signed-in
teacher confirms and where each stands this term, and the confirmation itself."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import Right
from common.exceptions import ApplicationError
from common.permissions import has_right
from tenant_apps.registry.classes.roster import roster_confirm, roster_panels
from tenant_apps.registry.policy.rules import student_scope


class RosterCheckOutput(serializers.Serializer):
    class_id = serializers.IntegerField()
    class_name = serializers.CharField()
    term_label = serializers.CharField()
    pupils = serializers.IntegerField(help_text="在读 pupils on the roll now")
    confirmed = serializers.BooleanField()
    confirmed_by_label = serializers.CharField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    note = serializers.CharField()


class RosterCheckApi(APIView):
    """The teacher's classes and their 人籍一致 confirmation for the current term; POST
    confirms one (once a term, only for the class's teacher or who may write it)."""

    permission_classes = [has_right(Right.REGISTRY_EDIT_OWN)]

    class InputSerializer(serializers.Serializer):
        class_id = serializers.IntegerField(min_value=1)
        note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")

    @extend_schema(responses=RosterCheckOutput(many=True), summary="人籍一致确认：本人负责的班级")
    def get(self, request: Request) -> Response:
        panels = roster_panels(request.user, student_scope(request.user))
        return Response(RosterCheckOutput(panels, many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={201: RosterCheckOutput},
        summary="确认本班名册与实到学生一致",
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        class_id = data.validated_data["class_id"]
        try:
            roster_confirm(
                user=request.user,
                class_id=class_id,
                note=data.validated_data["note"],
                request=request,
            )
        except ApplicationError as exc:
            # Another teacher's class is as unknown as a missing one.
            if exc.code in ("not_found", "forbidden"):
                raise NotFound("未找到该班级。") from None
            raise
        panel = next(p for p in roster_panels(request.user, {class_id}) if p.class_id == class_id)
        return Response(RosterCheckOutput(panel).data, status=status.HTTP_201_CREATED)
