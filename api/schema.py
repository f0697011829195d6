"""How drf-spectacular describes our authentication (loaded by ApiConfig.ready)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A partner's API token, made in the admin (API tokens → Add).",
        }


class OnePageSchema(AutoSchema):
    """For a list action that answers one object holding the page (the events feed): the
    response is that object, not an array of it."""

    def _is_list_view(self, serializer: Any = None) -> bool:
        return False
