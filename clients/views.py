from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.tenancy import partner_view


@require_GET
@partner_view
def signup(request: HttpRequest) -> HttpResponse:
    """The partner's branded signup page."""
    return render(request, "clients/signup.html", {"partner": request.partner})  # type: ignore[attr-defined]
