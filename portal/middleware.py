"""Request middleware: health probes, the webhook's short path, and the tenant scope of admin
requests."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from portal import views
from portal.selectors import partner_access_for
from portal.tenancy import all_partners_scope, partners_scope
from webhooks import views as webhook_views

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


class WebhookMiddleware:
    """Hands a webhook delivery straight to its view, past the rest of the stack.

    Sits after SecurityMiddleware (its HTTPS redirect and headers still apply) and checks the
    Host header against ALLOWED_HOSTS as CommonMiddleware would. What it skips is for people in
    browsers: static files, sessions, languages, CSRF, sign-in, messages, framing and CSP. A
    delivery is a machine's signed POST, answered with JSON; running those for it cost more CPU
    than storing it, and bursts of deliveries are when the web server has the least to spare.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # "/webhooks/360dialog/" (path_info leaves out any SCRIPT_NAME prefix, like reverse()
        # with the default script prefix), then the token and a slash.
        self.prefix = reverse("webhooks:receive", kwargs={"token": "-"}).removesuffix("-/")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(self.prefix) and path.endswith("/"):
            token = path[len(self.prefix) : -1]
            if token and "/" not in token:
                request.get_host()  # DisallowedHost (400) for a Host not in ALLOWED_HOSTS
                response = webhook_views.receive(request, token=token)
                # As CommonMiddleware would: without it the server answers chunked.
                response.headers["Content-Length"] = str(len(response.content))
                return response
        return self.get_response(request)


class AdminTenantScopeMiddleware:
    """Every admin query is limited to the partners the signed-in user belongs to (superusers see
    every partner). The user's access is computed once and kept on `request.partner_access`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # Compared with path_info, which, like this, leaves out any SCRIPT_NAME prefix.
        self.admin_prefix = reverse("admin:index")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(self.admin_prefix):
            return self.get_response(request)
        access = partner_access_for(request.user)
        request.partner_access = access  # type: ignore[attr-defined]
        if access.all_partners:
            with all_partners_scope():
                return self.get_response(request)
        with partners_scope(access.partner_ids()):
            return self.get_response(request)
