"""The console's one public endpoint, outside the admin: the client's pages report their own
events here (console.beacon), mounted at /events/ (portal/urls.py)."""

from __future__ import annotations

from django.urls import path

from console.beacon import page_event

urlpatterns = [path("page/", page_event, name="page_event")]
