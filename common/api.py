"""One error format for every API response, with Chinese messages.

{"error": {"code": "...", "message": "...", "fields": {"field": ["..."]}}}
"""

from __future__ import annotations

import codecs
import json
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.response import Response
from rest_framework.utils.json import strict_constant as json_strict_constant
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


# A body with a NUL anywhere in it is refused whole: PostgreSQL stores no NUL in text or
# jsonb, so letting one through only moves the failure to the database (a 500).
MSG_NOT_OBJECT = "请求内容必须是一个 JSON 对象（以 {{ 开头），收到的是{kind}。"
MSG_BAD_JSON = "请求内容不是有效的 JSON：第 {line} 行第 {column} 列附近有误。"
MSG_BAD_ENCODING = "请求内容不是 UTF-8 编码的 JSON。"
MSG_TOO_DEEP = "请求内容的 JSON 嵌套层数过多。"
MSG_JSON_NUL = "字段“{field}”含有不允许的空字符（NUL），请删除后重试。"
JSON_KINDS = {list: "数组", str: "字符串", int: "数字", float: "数字", bool: "布尔值"}


def _nul_path(data: Any) -> str | None:
    """The dotted path of the first key or string holding a NUL, or None. Iterative, so
    a deeply nested body cannot exhaust the stack."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return path or "（请求内容）"
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                if "\x00" in key:
                    return display_name(child)
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
    return None


def display_name(name: str, limit: int = 40) -> str:
    """A field or parameter name fit for a message: NUL shown as \\0, long names cut."""
    shown = name.replace("\x00", "\\0")
    return shown if len(shown) <= limit else shown[:limit] + "…"


class ObjectJSONParser(JSONParser):
    """JSON bodies as the API's views expect them: one object, no NUL, Chinese errors.

    Every view reads `request.data` as a mapping; a list, string, number or null body
    used to reach `.get`/`.items` and fail with a 500. Refusing it here, once, keeps the
    views free of per-view type checks.
    """

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        encoding = get_encoding(parser_context or {})
        try:
            text = codecs.getreader(encoding)(stream).read()
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(MSG_BAD_ENCODING) from exc
        try:
            data = json.loads(text, parse_constant=json_strict_constant if self.strict else None)
        except json.JSONDecodeError as exc:
            raise exceptions.ParseError(
                MSG_BAD_JSON.format(line=exc.lineno, column=exc.colno)
            ) from exc
        except ValueError as exc:  # NaN/Infinity under STRICT_JSON
            raise exceptions.ParseError(MSG_BAD_JSON.format(line=1, column=1)) from exc
        except RecursionError as exc:
            raise exceptions.ParseError(MSG_TOO_DEEP) from exc
        if not isinstance(data, dict):
            kind = "空值（null）" if data is None else JSON_KINDS.get(type(data), "其他值")
            raise exceptions.ParseError(MSG_NOT_OBJECT.format(kind=kind))
        where = _nul_path(data)
        if where is not None:
            raise exceptions.ParseError(MSG_JSON_NUL.format(field=display_name(where)))
        return data
