"""/api/v1/: the partner's REST API, its OpenAPI schema and docs page."""

from __future__ import annotations

from typing import Any

from django.urls import include, path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)
from rest_framework.routers import SimpleRouter

from api import views
from api.problems import not_found

app_name = "api"

router = SimpleRouter(trailing_slash=False)
router.register("onboardings", views.OnboardingViewSet, basename="onboarding")
router.register("clients", views.ClientViewSet, basename="client")
router.register("channels", views.ChannelViewSet, basename="channel")
router.register("invites", views.InviteViewSet, basename="invite")
router.register("events", views.EventViewSet, basename="event")
router.register("endpoints", views.EndpointViewSet, basename="endpoint")

# The schema and its docs page are public: they describe, they hold no partner's data.
public: dict[str, Any] = {
    "authentication_classes": [],
    "permission_classes": [],
    "throttle_classes": [],
}

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(**public), name="schema"),
    # Swagger UI from our own static files (drf-spectacular-sidecar); its start script is a
    # separate same-origin request, so the page needs no inline script (CSP stays strict).
    path(
        "docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema", **public), name="docs"
    ),
    path(
        "redoc/",
        SpectacularRedocView.as_view(
            url_name="api:schema", template_name="api/redoc.html", **public
        ),
        name="redoc",
    ),
    path("", include(router.urls)),
    re_path(r"^.*$", not_found),
]
