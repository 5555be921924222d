"""OpenAPI generation rules shared by every API view (drf-spectacular's AutoSchema).

Two things every view would otherwise repeat by hand:

* Component names. The API modules nest `InputSerializer`/`OutputSerializer` classes in
  their views (HackSoft's style); drf-spectacular names a component after the class
  alone, so dozens of "Input" and "Output" collided and a generated client got one
  shape for all of them. A nested serializer is named after its view instead:
  `TokenObtainApi.InputSerializer` becomes `TokenObtainInput` (and, as a request,
  `TokenObtainInputRequest`).
* Error responses. Every refusal goes through common.api.exception_handler and has one
  shape, `{"error": {"code", "message", "fields"?}}`. The statuses the framework itself
  answers are added to each operation from what the view declares: 401 and 403 when a
  permission guards it, 404 when the path names a record or the list is paged, 400 for
  writes and for reads that take query parameters (validation and business-rule
  refusals), 415 for writes with a body. A status the view declares itself is left as
  declared.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField(help_text="机器可读的错误代码，如 invalid、not_found")
    message = serializers.CharField(help_text="给用户看的中文说明")
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="逐字段的错误（仅 400 校验错误）",
    )


class ErrorResponse(serializers.Serializer):
    """The body of every 4xx answer (common.api.error_response)."""

    error = ErrorDetail()


def nested_name(cls: type) -> str | None:
    """`FooApi.InputSerializer` -> `FooInput`; None for a serializer not nested in a view."""
    parts = cls.__qualname__.split(".")
    if len(parts) != 2 or "<locals>" in parts:
        return None
    outer, inner = parts
    return outer.removesuffix("Api").removesuffix("View") + inner.removesuffix("Serializer")


class AutoSchema(SpectacularAutoSchema):
    def get_serializer_name(self, serializer: serializers.Serializer, direction: Any) -> str:
        return nested_name(type(serializer)) or super().get_serializer_name(serializer, direction)

    def _get_parameters(self) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super()._get_parameters()
        for p in parameters:
            # Django's <int:…> converter matches digits only: a negative number never
            # reaches the view (the URL resolver's HTML 404), so the schema excludes it.
            if p.get("in") == "path" and p.get("schema", {}).get("type") == "integer":
                p["schema"] = {**p["schema"], "minimum": 0}
        return parameters

    def _guarded(self) -> bool:
        return not all(isinstance(p, AllowAny) for p in self.view.get_permissions()) and bool(
            self.view.get_authenticators()
        )

    def _error_codes(self) -> list[str]:
        codes = []
        parameters = self._get_parameters()
        has_query = any(p.get("in") == "query" for p in parameters)
        if self.method in WRITE_METHODS or has_query:
            codes.append("400")
        if self._guarded():
            codes += ["401", "403"]
        # A path naming a record, or a page past the last (PageNumberPagination).
        if "{" in self.path or any(p.get("name") == "page" for p in parameters):
            codes.append("404")
        if self.method in BODY_METHODS and self.get_request_serializer() is not None:
            codes.append("415")  # a body in a content type the view does not parse
        return codes

    # drf-spectacular has no public hook for responses added to every operation; this
    # private method is the one that builds the responses object (pinned 0.30.0).
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorResponse, code)
        return responses


def paginated(item: type[serializers.Serializer], name: str) -> serializers.Serializer:
    """The body of a list that a view pages itself with DRF's PageNumberPagination (an
    APIView has no pagination_class, so drf-spectacular cannot see the envelope)."""
    from drf_spectacular.utils import inline_serializer

    return inline_serializer(
        name=name,
        fields={
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )
