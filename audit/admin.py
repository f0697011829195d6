from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.models import AuditEntry
from portal.admin_tenancy import TenantAdmin, partner_access


@admin.register(AuditEntry)
class AuditEntryAdmin(TenantAdmin):
    """The audit log: read-only for everyone, each user seeing their partners' entries."""

    list_display = ["created_at", "actor", "action", "target", "outcome", "reason", "partner"]
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

    def get_list_display(self, request: HttpRequest) -> Any:
        # One partner: its name in every row says nothing (and the list must fit 1280 px).
        access = partner_access(request)
        if not access.all_partners and len(access.partner_ids()) == 1:
            return [name for name in self.list_display if name != "partner"]
        return self.list_display

    @admin.display(description="target")
    def target(self, obj: AuditEntry) -> str:
        return f"{obj.target_type} {obj.target_label or obj.target_id}".strip()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
