from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from clients.invites import INVITE_LIFETIME, invite_prepare, invite_url, invites_revoke
from clients.models import Client, Invite, Notification, Onboarding, TimelineEntry
from dialog360.io_link import normalize_number
from portal.admin_tenancy import TenantAdmin, TenantInline, partner_access
from portal.models import Partner


class PhoneNumberForm(forms.ModelForm):  # type: ignore[type-arg]
    """Stores a valid number (the model field's validator) in 360Dialog's form: digits only,
    country code first."""

    def clean_phone_number(self) -> str:
        number: str = self.cleaned_data.get("phone_number", "")
        if not number:
            return ""
        try:
            return normalize_number(number)
        except ValueError:
            raise forms.ValidationError(
                "Enter the number with its country code, for example +49 151 12345678."
            ) from None


class TimelineInline(TenantInline):
    model = TimelineEntry
    fields = readonly_fields = ("created_at", "kind", "message", "data")
    show_change_link = False


@admin.register(Client)
class ClientAdmin(TenantAdmin):
    list_display = ["name", "hub_client_id", "email", "partner", "hub_status", "created_at"]
    search_fields = ["name", "hub_client_id", "email", "contact_name", "partner_payload"]
    # Everything here is 360Dialog's account of the client: it changes through webhooks and
    # reconciliation only.
    readonly_fields = [
        "hub_client_id",
        "name",
        "email",
        "contact_name",
        "partner_payload",
        "hub_status",
        "created_at",
        "updated_at",
    ]


class ReturnsShownFilter(admin.SimpleListFilter):
    """By default the list leaves out unverified returns: anyone can make one by opening the
    return URL without our token, so they are noise until the Partner API confirms them (and
    expire when it does not)."""

    title = "origin"
    parameter_name = "shown"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("unverified", "Unverified returns only"), ("all", "Everything")]

    def choices(self, changelist: Any) -> Any:
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Verified (default)",
        }
        for value, label in self.lookup_choices:
            yield {
                "selected": self.value() == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "all":
            return queryset
        return queryset.filter(verified=self.value() != "unverified")


@admin.register(Onboarding)
class OnboardingAdmin(TenantAdmin):
    form = PhoneNumberForm
    list_display = ["__str__", "partner", "status", "client", "created_at", "returned_at"]
    list_filter = ["status", ReturnsShownFilter]
    search_fields = [
        "email",
        "contact_name",
        "phone_number",
        "partner_payload",
        "client__name",
        "client__hub_client_id",
    ]
    date_hierarchy = "created_at"
    # Lifecycle, identity and 360Dialog fields change only through the flow itself, webhooks,
    # reconciliation or the console's audited actions; the contact details stay editable.
    readonly_fields = [
        "public_id",
        "status",
        "client",
        "verified",
        "expires_at",
        "partner_payload",
        "lang",
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


@admin.register(Invite)
class InviteAdmin(TenantAdmin):
    """Account managers send clients a pre-filled signup link; it expires and can be revoked."""

    form = PhoneNumberForm
    list_display = ["created_at", "partner", "email", "contact_name", "expires_at", "state"]
    search_fields = ["email", "contact_name", "partner_payload"]
    fields = [
        "partner",
        "email",
        "contact_name",
        "phone_number",
        "partner_payload",
        "expires_at",
        "link",
        "revoked_at",
    ]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        access = partner_access(request)
        return access.all_partners or bool(access.partner_ids(managed=True))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = ["link", "revoked_at"]
        return readonly if obj is None else ["partner", *readonly]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"expires_at": timezone.now() + INVITE_LIFETIME}

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        access = partner_access(request)
        if db_field.name == "partner" and not access.all_partners:
            kwargs["queryset"] = Partner.objects.filter(pk__in=access.partner_ids(managed=True))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Invite, form: Any, change: bool) -> None:
        token = invite_prepare(obj) if not change else ""
        super().save_model(request, obj, form, change)
        if token:
            request.invite_link = invite_url(partner=obj.partner, token=token)  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: Invite, post_url_continue: str | None = None
    ) -> HttpResponse:
        """The link to send, shown this once: only its token's hash is stored."""
        link = getattr(request, "invite_link", None)
        if link is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": "Invite made",
            "opts": self.opts,
            "invite": obj,
            "link": link,
        }
        response = TemplateResponse(request, "admin/clients/invite/link.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.display(description="state")
    def state(self, obj: Invite) -> str:
        if obj.revoked_at:
            return "revoked"
        return "expired" if obj.expires_at <= timezone.now() else "open"

    @admin.display(description="link to send")
    def link(self, obj: Invite) -> str:
        if not obj.pk:
            return "(shown once, when you save)"
        return "Shown once, when the invite was made. Lost it? Revoke this invite and make another."

    @admin.action(description="Revoke the selected invites")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Invite]) -> None:
        access = partner_access(request)
        managed = [invite.pk for invite in queryset if access.may_manage(invite.partner_id)]
        count = invites_revoke(invite_ids=managed)
        self.message_user(request, f"{count} invite(s) revoked.", messages.SUCCESS)
