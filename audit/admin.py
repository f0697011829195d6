from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEntry
from portal.admin_tenancy import TenantAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(TenantAdmin):
    """The audit log: read-only for everyone, each user seeing their partners' entries."""

    list_display = [
        "created_at",
        "partner",
        "actor",
        "action",
        "target_type",
        "target_label",
        "outcome",
        "reason",
    ]
    list_filter = [("user", admin.RelatedOnlyFieldListFilter), "action", "outcome"]
    search_fields = ["actor", "target_label", "target_id", "reason"]
    date_hierarchy = "created_at"
    list_select_related = ["partner"]
    fields = readonly_fields = (
        "created_at",
        "partner",
        "user",
        "actor",
        "action",
        "target_type",
        "target_id",
        "target_label",
        "outcome",
        "reason",
        "ip",
        "data",
    )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
