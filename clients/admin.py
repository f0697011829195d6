from __future__ import annotations

from django.contrib import admin

from clients.models import Client, Notification, Onboarding, TimelineEntry
from portal.admin_tenancy import TenantAdmin, TenantInline


class TimelineInline(TenantInline):
    model = TimelineEntry
    fields = readonly_fields = ("created_at", "kind", "message", "data")
    show_change_link = False


@admin.register(Client)
class ClientAdmin(TenantAdmin):
    list_display = ["name", "hub_client_id", "email", "partner", "hub_status", "created_at"]
    search_fields = ["name", "hub_client_id", "email", "contact_name", "partner_payload"]
    readonly_fields = ["created_at", "updated_at"]


@admin.register(Onboarding)
class OnboardingAdmin(TenantAdmin):
    list_display = ["__str__", "partner", "status", "client", "created_at", "returned_at"]
    list_filter = ["status", "verified"]
    search_fields = [
        "email",
        "contact_name",
        "phone_number",
        "partner_payload",
        "client__name",
        "client__hub_client_id",
    ]
    date_hierarchy = "created_at"
    raw_id_fields = ["client"]
    readonly_fields = [
        "public_id",
        "opened_at",
        "returned_at",
        "completed_at",
        "created_at",
        "updated_at",
    ]
    list_select_related = ["partner", "client"]
    inlines = [TimelineInline]


@admin.register(TimelineEntry)
class TimelineEntryAdmin(TenantAdmin):
    list_display = ["created_at", "onboarding", "kind", "message"]
    list_filter = ["kind"]
    search_fields = ["message", "onboarding__email"]
    readonly_fields = ["partner", "onboarding", "created_at", "kind", "message", "data"]
    list_select_related = ["onboarding"]


@admin.register(Notification)
class NotificationAdmin(TenantAdmin):
    list_display = ["created_at", "onboarding", "kind", "subject", "sent_at"]
    list_filter = ["kind"]
    search_fields = ["subject", "onboarding__email", "key"]
    readonly_fields = [
        "partner",
        "onboarding",
        "key",
        "kind",
        "subject",
        "body",
        "recipients",
        "created_at",
        "sent_at",
        "last_error",
    ]
    list_select_related = ["onboarding"]
