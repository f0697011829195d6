from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from portal.admin_tenancy import TenantAdmin, partner_access
from webhooks.models import WebhookEvent
from webhooks.services import webhook_event_replay


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
    actions = ["replay"]

    @admin.action(description="Process the selected events again")
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        access = partner_access(request)
        allowed = [event for event in queryset if access.may_manage(event.partner_id)]
        replayed = sum(webhook_event_replay(event=event) for event in allowed)
        self.message_user(
            request,
            f"{replayed} event(s) queued again. Processed events, and events of partners you "
            "do not manage, are left as they are.",
            messages.SUCCESS,
        )

    @admin.display(description="raw body")
    def body(self, obj: WebhookEvent) -> str:
        return bytes(obj.raw_body).decode("utf-8", errors="replace")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deliveries are evidence: never edited by hand.
        return False
