from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from portal.admin_tenancy import SuperuserOnly, TenantAccessMixin, is_superuser, partner_access
from portal.models import Partner, PartnerMembership
from portal.selectors import partner_signup_url, partner_webhook_url, partners_visible

admin.site.site_header = "Partner portal"
admin.site.site_title = "Partner portal"
admin.site.index_title = "Onboardings"
admin.site.site_url = None  # there is no site root; each partner has its own signup page


class SecretField(forms.CharField):
    """Write-only: the form never shows the stored value; blank keeps it."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("strip", True)
        kwargs.setdefault(
            "help_text",
            "Write-only. Leave blank to keep the stored value; enter a new one to replace it.",
        )
        super().__init__(widget=forms.PasswordInput(render_value=False), **kwargs)


class PartnerForm(forms.ModelForm):  # type: ignore[type-arg]
    """The superuser's form: the secrets can be replaced, never read back."""

    api_key = SecretField(label="Partner API key")
    platform_secret = SecretField(label="Platform secret")

    class Meta:
        model = Partner
        # The admin passes the full field list from its fieldsets.
        fields = ["api_key", "platform_secret"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in _SECRET_FIELDS:
            if not cleaned.get(name):
                # Keep what is stored: the instance already holds it.
                cleaned[name] = getattr(self.instance, name)
        return cleaned


class MembershipInline(SuperuserOnly, admin.TabularInline):  # type: ignore[type-arg]
    model = PartnerMembership
    extra = 0
    autocomplete_fields = ["user"]


_SECRET_FIELDS = ("api_key", "platform_secret")
# How the portal talks to 360Dialog: superusers change these, managers see them.
_CONNECTION_FIELDS = (
    "slug",
    "is_active",
    "hub_partner_id",
    "payment_mode",
    "hub_url",
    "api_base_url",
    "io_signature_enabled",
    "io_signature_encoding",
    "plan_selection",  # a premium plan is billed to the partner
)


@admin.register(Partner)
class PartnerAdmin(TenantAccessMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "slug", "hub_partner_id", "payment_mode", "is_active"]
    list_filter = ["payment_mode", "is_active"]
    search_fields = ["name", "slug", "hub_partner_id"]
    readonly_fields = ["webhook_url", "signup_url", "secrets_status", "created_at", "updated_at"]
    inlines = [MembershipInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "is_active", "signup_url"]}),
        (
            "360Dialog",
            {
                "fields": [
                    "hub_partner_id",
                    "payment_mode",
                    "hub_url",
                    "api_base_url",
                    "secrets_status",
                    *_SECRET_FIELDS,
                    "io_signature_enabled",
                    "io_signature_encoding",
                    "webhook_url",
                    "default_lang",
                    "plan_selection",
                ]
            },
        ),
        (
            "Signup page",
            {
                "fields": [
                    "logo_url",
                    "primary_colour",
                    "accent_colour",
                    "headline",
                    "body_text",
                    "support_email",
                    "terms_url",
                ]
            },
        ),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Partner]:
        return partners_visible(partner_access(request))

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        # Declared fields are part of a form whatever the fieldsets say, so only superusers get
        # the form that declares the secret fields.
        kwargs["form"] = PartnerForm if is_superuser(request) else forms.ModelForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        hidden: set[str] = set()
        if not is_superuser(request):
            hidden.update(_SECRET_FIELDS)
        if obj is None or not partner_access(request).may_manage(obj.pk):
            # The webhook URL carries the token that authenticates 360Dialog's deliveries.
            hidden.add("webhook_url")
        return [
            (title, {**opts, "fields": [f for f in opts["fields"] if f not in hidden]})
            for title, opts in super().get_fieldsets(request, obj)
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(super().get_readonly_fields(request, obj))
        if not is_superuser(request):
            readonly += _CONNECTION_FIELDS
        return readonly

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return is_superuser(request)

    @admin.display(description="Webhook URL (enter it in the Partner Hub)")
    def webhook_url(self, obj: Partner) -> str:
        return partner_webhook_url(obj) if obj.pk else "—"

    @admin.display(description="Signup page")
    def signup_url(self, obj: Partner) -> str:
        if not obj.pk:
            return "—"
        url = partner_signup_url(obj)
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, url)

    @admin.display(description="Stored secrets")
    def secrets_status(self, obj: Partner) -> str:
        def state(value: str) -> str:
            return "set" if value else "not set"

        return f"API key: {state(obj.api_key)}; platform secret: {state(obj.platform_secret)}"


@admin.register(PartnerMembership)
class PartnerMembershipAdmin(SuperuserOnly, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["user", "partner", "role", "created_at"]
    list_filter = ["role", "partner"]
    search_fields = ["user__username", "user__email", "partner__name", "partner__slug"]
    autocomplete_fields = ["user", "partner"]
