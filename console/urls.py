"""The console's pages, mounted under the admin's prefix (portal/urls.py) so the admin's tenant
scope and login apply; the first one is the admin's home page."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from console import views

app_name = "console"

urlpatterns = [
    path("", admin.site.admin_view(views.home), name="home"),
    path(
        "console/onboarding/<int:pk>/<slug:action>/",
        admin.site.admin_view(views.onboarding_action),
        name="onboarding_action",
    ),
    path(
        "console/invite/<int:pk>/<slug:action>/",
        admin.site.admin_view(views.invite_action),
        name="invite_action",
    ),
    path(
        "console/channel/<int:pk>/reveal/",
        admin.site.admin_view(views.channel_key_reveal),
        name="channel_key_reveal",
    ),
    path(
        "console/channel/<int:pk>/<slug:action>/",
        admin.site.admin_view(views.channel_action),
        name="channel_action",
    ),
]
