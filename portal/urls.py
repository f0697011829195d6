from django.contrib import admin
from django.urls import include, path

from portal.metrics import metrics_view

# /healthz and /readyz are answered by portal.middleware.HealthCheckMiddleware.

urlpatterns = [
    # The console: the admin's home page and its actions (before the admin, which it extends).
    path("admin/", include("console.urls")),
    path("admin/", admin.site.urls),
    path("p/", include("clients.urls")),
    # The client's pages report their own events here (the console's funnel).
    path("events/", include("console.public_urls")),
    path("webhooks/", include("webhooks.urls")),
    path("api/v1/", include("api.urls")),
    path("metrics", metrics_view, name="metrics"),
]

# Branded error pages (templates/404.html, templates/500.html).
handler404 = "clients.views.page_not_found"
handler500 = "clients.views.server_error"
