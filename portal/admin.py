from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html

from portal.admin_tenancy import (
    AllowedLookupsMixin,
    SuperuserOnly,
    TenantAccessMixin,
    is_superuser,
    partner_access,
)
from portal.contrast import brand_warnings
from portal.models import Partner, PartnerMembership
from portal.selectors import partner_signup_url, partner_webhook_url, partners_visible
from portal.services import partner_webhook_token_rotate

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
    "api_key_reads_enabled",  # hands channels' keys to whoever holds a token
)


@admin.register(Partner)
class PartnerAdmin(AllowedLookupsMixin, TenantAccessMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "slug", "hub_partner_id", "payment_mode", "is_active"]
    list_filter = ["payment_mode", "is_active"]
    search_fields = ["name", "slug", "hub_partner_id"]
    readonly_fields = ["webhook_url", "signup_url", "secrets_status", "created_at", "updated_at"]
    inlines = [MembershipInline]
    actions = ["rotate_webhook_token"]
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
        ("Partner API", {"fields": ["api_key_reads_enabled"]}),
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
        if obj is None:
            hidden.add("webhook_url")  # shown once the partner is saved
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

    def has_rotate_webhook_permission(self, request: HttpRequest) -> bool:
        access = partner_access(request)
        return access.all_partners or bool(access.partner_ids(managed=True))

    @admin.display(description="Webhook URL")
    def webhook_url(self, obj: Partner) -> str:
        # Its token authenticates 360Dialog's deliveries and is stored only as a hash.
        return (
            "Shown once, when the partner is added or its webhook token rotated (select it in "
            'the list of partners and choose "Rotate the webhook token").'
        )

    def save_model(self, request: HttpRequest, obj: Partner, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        for warning in brand_warnings(primary=obj.primary_colour, accent=obj.accent_colour):
            messages.warning(request, warning)
        if not change:
            request.new_webhook_urls = [  # type: ignore[attr-defined]
                (obj, partner_webhook_url(token=partner_webhook_token_rotate(partner=obj)))
            ]

    def response_add(
        self, request: HttpRequest, obj: Partner, post_url_continue: str | None = None
    ) -> HttpResponse:
        shown = getattr(request, "new_webhook_urls", None)
        if shown:
            return self._webhook_urls_page(request, shown)
        return super().response_add(request, obj, post_url_continue)

    @admin.action(
        description="Rotate the webhook token (the old webhook URL stops working)",
        permissions=["rotate_webhook"],
    )
    def rotate_webhook_token(
        self, request: HttpRequest, queryset: QuerySet[Partner]
    ) -> HttpResponse | None:
        access = partner_access(request)
        partners = [partner for partner in queryset if access.may_manage(partner.pk)]
        if not partners:
            self.message_user(request, "You manage none of the selected partners.", messages.ERROR)
            return None
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Rotate webhook tokens?",
                "opts": self.opts,
                "partners": partners,
                "action": "rotate_webhook_token",
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(
                request, "admin/portal/partner/rotate_webhook_token.html", context
            )
        shown = [
            (partner, partner_webhook_url(token=partner_webhook_token_rotate(partner=partner)))
            for partner in partners
        ]
        return self._webhook_urls_page(request, shown)

    def _webhook_urls_page(
        self, request: HttpRequest, shown: list[tuple[Partner, str]]
    ) -> HttpResponse:
        """New webhook URLs, shown this once: only their tokens' hashes are stored."""
        context = {
            **self.admin_site.each_context(request),
            "title": "New webhook URL",
            "opts": self.opts,
            "shown": shown,
        }
        response = TemplateResponse(request, "admin/portal/partner/webhook_urls.html", context)
        response["Cache-Control"] = "no-store"
        return response

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
class PartnerMembershipAdmin(AllowedLookupsMixin, SuperuserOnly, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["user", "partner", "role", "created_at"]
    list_filter = ["role", "partner"]
    search_fields = ["user__username", "user__email", "partner__name", "partner__slug"]
    autocomplete_fields = ["user", "partner"]


# Django's own user and group lists: only the lookups their filters need, like every other list.
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class PortalUserAdmin(AllowedLookupsMixin, UserAdmin):  # type: ignore[type-arg]
    pass


@admin.register(Group)
class PortalGroupAdmin(AllowedLookupsMixin, GroupAdmin):
    pass
