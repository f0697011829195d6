from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from portal.admin_tenancy import TenantAdmin
from webhooks.models import WebhookEvent


@admin.register(WebhookEvent)
class WebhookEventAdmin(TenantAdmin):
    list_display = ["received_at", "partner", "event_type", "status", "attempts", "hub_event_id"]
    list_filter = ["status", "event_type"]
    search_fields = ["hub_event_id", "dedupe_key", "event_type"]
    date_hierarchy = "received_at"
    exclude = ["raw_body"]
    readonly_fields = [
        "partner",
        "received_at",
        "hub_event_id",
        "dedupe_key",
        "event_type",
        "status",
        "attempts",
        "next_attempt_at",
        "processed_at",
        "body",
        "payload",
        "headers",
        "last_error",
        "traceback",
    ]
    list_select_related = ["partner"]

    @admin.display(description="raw body")
    def body(self, obj: WebhookEvent) -> str:
        return bytes(obj.raw_body).decode("utf-8", errors="replace")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deliveries are evidence: never edited by hand.
        return False
