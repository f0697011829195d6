"""Request middleware: health probes, and the tenant scope of admin requests."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from portal import views
from portal.selectors import partner_ids_for_user
from portal.tenancy import all_partners_scope, partners_scope

_PROBES = {"/healthz": views.healthz, "/readyz": views.readyz}


class HealthCheckMiddleware:
    """Answers /healthz and /readyz before host validation and the HTTPS redirect.

    Container runtimes and load balancers probe over plain HTTP with their own Host header, so the
    probes must not depend on ALLOWED_HOSTS or SECURE_SSL_REDIRECT. They reveal nothing but
    "ok" or "unreachable".
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = _PROBES.get(request.path_info)
        if probe is not None:
            return probe(request)
        return self.get_response(request)


class AdminTenantScopeMiddleware:
    """Every admin query is limited to the partners the signed-in user belongs to (superusers see
    every partner)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.admin_prefix = reverse("admin:index")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(self.admin_prefix):
            return self.get_response(request)
        user = request.user
        if user.is_active and user.is_superuser:
            with all_partners_scope():
                return self.get_response(request)
        with partners_scope(partner_ids_for_user(user)):
            return self.get_response(request)
