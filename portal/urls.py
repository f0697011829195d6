from django.contrib import admin
from django.urls import include, path

# /healthz and /readyz are answered by portal.middleware.HealthCheckMiddleware.

urlpatterns = [
    path("admin/", admin.site.urls),
    path("p/", include("clients.urls")),
    path("webhooks/", include("webhooks.urls")),
]
