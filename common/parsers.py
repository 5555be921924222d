"""The API's parsers: a JSON body is one object; no body lets a NUL byte through;
errors in Chinese.

Its own module, apart from common.api: rest_framework.views reads DEFAULT_PARSER_CLASSES
when it is first imported, so the parsers must be importable without it.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

from rest_framework import exceptions
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser, get_encoding  # type: ignore[attr-defined]
from rest_framework.utils.json import strict_constant as json_strict_constant

# A body with a NUL anywhere in it is refused whole: PostgreSQL stores no NUL in text or
# jsonb, so letting one through only moves the failure to the database (a 500).
MSG_NOT_OBJECT = "请求内容必须是一个 JSON 对象（以 {{ 开头），收到的是{kind}。"
MSG_BAD_JSON = "请求内容不是有效的 JSON：第 {line} 行第 {column} 列附近有误。"
MSG_BAD_ENCODING = "请求内容不是 UTF-8 编码的 JSON。"
MSG_TOO_DEEP = "请求内容的 JSON 嵌套层数过多。"
MSG_JSON_NUL = "字段“{field}”含有不允许的空字符（NUL），请删除后重试。"
MSG_FORM_NUL = "表单字段“{field}”含有不允许的空字符（NUL），请删除后重试。"
JSON_KINDS = {list: "数组", str: "字符串", int: "数字", float: "数字", bool: "布尔值"}


def _nul_path(data: Any) -> str | None:
    """The dotted path of the first key or string holding a NUL, or None. Iterative, so
    a deeply nested body cannot exhaust the stack."""
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return path
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                if "\x00" in key:
                    return child
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


def _form_nul(data: Any) -> None:
    """Refuse a parsed form (a QueryDict, or multipart's DataAndFiles) holding a NUL."""
    fields = getattr(data, "data", data)
    for name, values in fields.lists():
        if "\x00" in name or any("\x00" in v for v in values):
            raise exceptions.ParseError(MSG_FORM_NUL.format(field=display_name(name)))


class NulRefusingFormParser(FormParser):
    """DRF's form parser, refusing NUL. Django parses POST forms itself (and the NUL
    middleware checks them); PUT and PATCH forms are parsed only here."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        _form_nul(data)
        return data


class NulRefusingMultiPartParser(MultiPartParser):
    """DRF's multipart parser, refusing NUL in field names and values (PUT, PATCH)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        _form_nul(data)
        return data
