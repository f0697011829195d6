from __future__ import annotations

from django.contrib import admin

from channels.models import ApiKey, Channel
from portal.admin_tenancy import TenantAdmin, TenantInline

# The key itself is never shown: only its last 4 characters and a fingerprint.
_KEY_FIELDS = (
    "last4",
    "fingerprint",
    "hub_key_id",
    "address",
    "app_id",
    "created_at",
    "revoked_at",
    "revoked_reason",
)


class ApiKeyInline(TenantInline):
    model = ApiKey
    fields = _KEY_FIELDS
    readonly_fields = _KEY_FIELDS


@admin.register(Channel)
class ChannelAdmin(TenantAdmin):
    list_display = [
        "hub_channel_id",
        "phone_number",
        "partner",
        "client",
        "status",
        "permission",
        "created_at",
    ]
    list_filter = ["status", "permission", "has_violation", "is_restricted"]
    search_fields = ["hub_channel_id", "phone_number", "phone_name", "client__name", "waba_id"]
    # A channel is 360Dialog's record of a number: every field changes through webhooks,
    # reconciliation, provisioning or the console's audited actions, never by hand.
    readonly_fields = [
        "client",
        "onboarding",
        "hub_channel_id",
        "status",
        "account_mode",
        "phone_number",
        "phone_name",
        "waba_id",
        "permission",
        "has_violation",
        "is_restricted",
        "cancellation_requested",
        "cancelled_at",
        "created_at",
        "updated_at",
        "status_changed_at",
        "permission_changed_at",
        "api_key_error",
        "api_key_error_at",
    ]
    list_select_related = ["partner", "client"]
    inlines = [ApiKeyInline]


@admin.register(ApiKey)
class ApiKeyAdmin(TenantAdmin):
    list_display = ["__str__", "channel", "partner", "created_at", "revoked_at"]
    search_fields = ["channel__hub_channel_id", "channel__phone_number", "fingerprint", "last4"]
    fields = readonly_fields = ("partner", "channel", *_KEY_FIELDS)
    list_select_related = ["partner", "channel"]
