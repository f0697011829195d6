"""Enter the tenant scope for admin requests, so every admin query is limited to the partners
the signed-in user belongs to (superusers see every partner)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from portal.selectors import partner_ids_for_user
from portal.tenancy import all_partners_scope, partners_scope


class AdminTenantScopeMiddleware:
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
