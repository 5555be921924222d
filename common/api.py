"""One error format for every API response, with Chinese messages.

{"error": {"code": "...", "message": "...", "fields": {"field": ["..."]}}}
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from common.exceptions import ApplicationError

MESSAGES = {
    "not_authenticated": "请先登录。",
    "authentication_failed": "登录信息无效，请重新登录。",
    "permission_denied": "您没有执行此操作的权限。",
    "not_found": "未找到该记录。",
    "method_not_allowed": "不支持该请求方法。",
    "throttled": "请求过于频繁，请稍后再试。",
    "parse_error": "请求内容格式错误。",
    "unsupported_media_type": "不支持的内容类型。",
    "invalid": "提交的数据有误，请按提示修改。",
}


def _fields(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]}
    return {}


def error_response(
    code: str, message: str, http_status: int, fields: dict | None = None
) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return Response({"error": body}, status=http_status)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ApplicationError):
        return error_response(exc.code, exc.message, status.HTTP_400_BAD_REQUEST, exc.extra or None)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    code = exc.default_code if not isinstance(exc.get_codes(), str) else exc.get_codes()
    if isinstance(exc, exceptions.ValidationError):
        code = "invalid"
        return error_response(code, MESSAGES["invalid"], response.status_code, _fields(exc.detail))
    # A message set by the view or permission wins; DRF's English defaults are replaced.
    custom = isinstance(exc.detail, str) and str(exc.detail) != str(exc.default_detail)
    message = str(exc.detail) if custom else MESSAGES.get(str(code), MESSAGES["invalid"])
    response.data = {"error": {"code": str(code), "message": message}}
    return response
