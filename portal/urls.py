from django.contrib import admin
from django.urls import include, path

from portal import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("p/", include("clients.urls")),
]
