"""Errors as RFC 9457 problem documents (`application/problem+json`).

Every error the API answers has `type`, `title`, `status`, `detail` and `instance`, plus `code`
(a stable word to branch on) and, for invalid input, `errors` by field. `type` is `about:blank`
(the status says it all) except for the problems this API defines itself."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

PROBLEM_CONTENT_TYPE = "application/problem+json"
# Problems of our own: their type points at their description in the API's docs page.
OWN_PROBLEMS = ("api_key_reads_disabled", "no_current_key")


class Problem(exceptions.APIException):
    """An error with a code of our own (OWN_PROBLEMS)."""

    def __init__(self, *, status: int, code: str, detail: str) -> None:
        super().__init__(detail=detail, code=code)
        self.status_code = status


def problem_body(*, status: int, code: str, detail: str, instance: str) -> dict[str, Any]:
    return {
        "type": (
            f"{settings.PUBLIC_BASE_URL}/api/v1/docs/#problem-{code}"
            if code in OWN_PROBLEMS
            else "about:blank"
        ),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
    }


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Nothing of this partner has this id.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response  # a server error: Django's handler answers (and logs) it
    request = context.get("request")
    instance = request.path if request is not None else ""
    if isinstance(exc, exceptions.ValidationError):
        code, detail = "invalid", "The request has invalid values; see errors."
    else:
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        detail = str(exc.detail)
    body = problem_body(status=response.status_code, code=code, detail=detail, instance=instance)
    if isinstance(exc, exceptions.ValidationError):
        body["errors"] = (
            exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        )
    if isinstance(exc, exceptions.Throttled) and "Retry-After" in response.headers:
        body["retry_after"] = int(response.headers.get("Retry-After", "1"))
    headers = {
        name: value
        for name, value in response.headers.items()
        if name in ("WWW-Authenticate", "Retry-After", "Allow")
    }
    return Response(
        body, status=response.status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE
    )


@csrf_exempt  # a POST to no endpoint is a 404 problem too, not the CSRF failure page
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """A path under /api/v1/ that names nothing."""
    return JsonResponse(
        problem_body(
            status=404, code="not_found", detail="No such endpoint.", instance=request.path
        ),
        status=404,
        content_type=PROBLEM_CONTENT_TYPE,
    )
