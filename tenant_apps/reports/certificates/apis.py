"""API of 证书管理 (right CERTIFICATES_MANAGE) and the public verification result, with
the pages' rules: the same services, audit and fields."""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.audit import audit_record
from accounts.roles import Right
from common.actor import Actor
from common.masking import mask_id_number
from common.permissions import has_right
from common.schema import paginated
from tenant_apps.reports.certificates import selectors, services
from tenant_apps.reports.certificates.documents import certificate_pdf
from tenant_apps.reports.certificates.views import verify_limited, verify_url
from tenant_apps.reports.models.certificates import Certificate, Kind


class _InlineChoice(serializers.ChoiceField):
    """A choice field documented as a described string, not as a named enum: other apps
    have their own enums called "kind" and "state", and drf-spectacular's enum names
    would collide (tests/test_api_schema.py wants no warning)."""

    values: ClassVar[list[str]] = []

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=self.values, **kwargs)


def _enum(values: list[str], description: str) -> dict[str, Any]:
    # No "enum" key: drf-spectacular's enum hook would still pull it out by the field's
    # name and collide with the other apps' "kind"; the values are in the description.
    return {"type": "string", "description": f"{description}（{' | '.join(values)}）"}


@extend_schema_field(
    _enum(list(Kind.values), "enrolment 学籍证明 · diploma 毕业证书 · completion 结业证明")
)
class KindField(_InlineChoice):
    values = list(Kind.values)


@extend_schema_field(_enum(list(Certificate.State.values), "issued 有效 · void 已作废"))
class CertStateField(_InlineChoice):
    values = list(Certificate.State.values)


@extend_schema_field(
    _enum(["valid", "void", "not_found"], "valid 真实有效 · void 已作废 · not_found 未找到")
)
class VerifyStateField(_InlineChoice):
    values = ["valid", "void", "not_found"]


class CertificateOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = KindField()
    kind_label = serializers.SerializerMethodField()
    number = serializers.CharField()
    code = serializers.CharField(help_text="验证码")
    state = CertStateField()
    student_id = serializers.UUIDField(source="student_identifier")
    name = serializers.SerializerMethodField()
    class_name = serializers.SerializerMethodField()
    id_number = serializers.SerializerMethodField(help_text="已隐去部分")
    purpose = serializers.CharField()
    issued_by = serializers.CharField()
    issued_at = serializers.DateTimeField()
    void_reason = serializers.CharField()
    reprint_count = serializers.IntegerField()
    verify_url = serializers.SerializerMethodField()

    def get_kind_label(self, cert: Certificate) -> str:
        return str(Kind(cert.kind).label)

    def get_name(self, cert: Certificate) -> str:
        return str(cert.values.get("name", ""))

    def get_class_name(self, cert: Certificate) -> str:
        return str(cert.values.get("class_name", ""))

    def get_id_number(self, cert: Certificate) -> str:
        return mask_id_number(str(cert.values.get("id_number", "")))

    def get_verify_url(self, cert: Certificate) -> str:
        request = self.context.get("request")
        return verify_url(request, cert.code) if request is not None else ""


class IssueInput(serializers.Serializer):
    kind = KindField()
    student_id = serializers.UUIDField(required=False)
    class_id = serializers.IntegerField(
        required=False, help_text="按班批量发放（毕业证书、结业证明）"
    )
    purpose = serializers.CharField(required=False, allow_blank=True, max_length=100)


class IssueOutput(serializers.Serializer):
    issued = CertificateOutput(many=True)
    passed_over = serializers.IntegerField(help_text="已有有效证书、未重发的人数")


class VoidInput(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


class VerificationOutput(serializers.Serializer):
    state = VerifyStateField()
    kind = serializers.CharField()
    number = serializers.CharField()
    name = serializers.CharField(source="masked_name", help_text="已隐去部分")
    school = serializers.CharField()
    issued_on = serializers.DateField(allow_null=True)


def _get(certificate_id: int) -> Certificate:
    cert = selectors.certificate_get(certificate_id=certificate_id)
    if cert is None:
        raise NotFound()
    return cert


class CertificateListApi(APIView):
    """GET: the school's certificates; POST: issue one (student_id) or a class (class_id)."""

    permission_classes = [has_right(Right.CERTIFICATES_MANAGE)]

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", str, description="enrolment、diploma 或 completion"),
            OpenApiParameter("state", str, description="issued（有效）或 void（已作废）"),
            OpenApiParameter("q", str, description="编号或姓名"),
            OpenApiParameter("page", int),
        ],
        responses=paginated(CertificateOutput, "PaginatedCertificateList"),
        summary="证书列表",
        operation_id="v1_reports_certificates_list",
    )
    def get(self, request: Request) -> Response:
        p = request.query_params
        rows = selectors.certificate_list(
            kind=p.get("kind", ""), state=p.get("state", ""), q=p.get("q", "")
        )
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        data = CertificateOutput(page, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    @extend_schema(request=IssueInput, responses={201: IssueOutput}, summary="签发证书")
    def post(self, request: Request) -> Response:
        data = IssueInput(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        actor = Actor.of(request.user)
        if d.get("class_id") is not None:
            issued, passed = services.certificate_issue_class(
                class_id=d["class_id"], kind=d["kind"], actor=actor, request=request
            )
        else:
            if d.get("student_id") is None:
                raise serializers.ValidationError({"student_id": "请指定学生或班级。"})
            issued = [
                services.certificate_issue(
                    kind=d["kind"],
                    student_identifier=d["student_id"],
                    purpose=d.get("purpose", ""),
                    actor=actor,
                    request=request,
                )
            ]
            passed = 0
        body = {
            "issued": CertificateOutput(issued, many=True, context={"request": request}).data,
            "passed_over": passed,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class CertificateDetailApi(APIView):
    permission_classes = [has_right(Right.CERTIFICATES_MANAGE)]

    @extend_schema(responses=CertificateOutput, summary="证书详情")
    def get(self, request: Request, cert_id: int) -> Response:
        return Response(CertificateOutput(_get(cert_id), context={"request": request}).data)


class CertificateReprintApi(APIView):
    permission_classes = [has_right(Right.CERTIFICATES_MANAGE)]

    @extend_schema(request=None, responses=CertificateOutput, summary="补打证书（计次并审计）")
    def post(self, request: Request, cert_id: int) -> Response:
        cert = services.certificate_reprint(
            certificate_id=_get(cert_id).pk, actor=Actor.of(request.user), request=request
        )
        return Response(CertificateOutput(cert, context={"request": request}).data)


class CertificateVoidApi(APIView):
    permission_classes = [has_right(Right.CERTIFICATES_MANAGE)]

    @extend_schema(request=VoidInput, responses=CertificateOutput, summary="作废证书")
    def post(self, request: Request, cert_id: int) -> Response:
        data = VoidInput(data=request.data)
        data.is_valid(raise_exception=True)
        cert = services.certificate_void(
            certificate_id=_get(cert_id).pk,
            reason=data.validated_data["reason"],
            actor=Actor.of(request.user),
            request=request,
        )
        return Response(CertificateOutput(cert, context={"request": request}).data)


class CertificatePdfApi(APIView):
    permission_classes = [has_right(Right.CERTIFICATES_MANAGE)]

    @extend_schema(
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY)},
        summary="证书PDF",
    )
    def get(self, request: Request, cert_id: int) -> HttpResponse:
        cert = _get(cert_id)
        audit_record(
            request=request,
            action="certificate.download",
            object_type="certificate",
            object_id=cert.number,
            object_repr=f"{Kind(cert.kind).label} {cert.number}",
        )
        body = certificate_pdf(cert, verify_url=verify_url(request, cert.code))
        response = HttpResponse(body, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="certificate-{cert.number}.pdf"'
        return response


class CertificateVerifyApi(APIView):
    """Public, no sign-in: the same answer and the same rate limit as /verify/<code>/."""

    permission_classes = [AllowAny]
    authentication_classes: list[type] = []

    @extend_schema(responses={200: VerificationOutput}, summary="证书核验（公开）", auth=[])
    def get(self, request: Request, verify_code: str) -> Response:
        if verify_limited(request):
            return Response(
                {"detail": "查询过于频繁，请稍后再试。"}, status=status.HTTP_429_TOO_MANY_REQUESTS
            )
        result = selectors.certificate_verify(code=verify_code)
        body = VerificationOutput(result).data | {"state": result.state}
        return Response(body)
