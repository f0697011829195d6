"""The domain's events, read-only (deliveries are in the outbound admin)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from events.models import DomainEvent
from portal.admin_tenancy import TenantAdmin


@admin.register(DomainEvent)
class DomainEventAdmin(TenantAdmin):
    list_display = ["created_at", "type", "partner", "public_id"]
    list_filter = ["type"]
    readonly_fields = ["partner", "public_id", "type", "data", "created_at", "relayed_at"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
