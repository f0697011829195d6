"""Outbound endpoints (secret shown once, rotation), the events, and the delivery log with
"send again"."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from events.models import EVENT_TYPES
from outbound import http
from outbound.models import Delivery, Endpoint
from outbound.services import deliveries_send_again, endpoint_secret_rotate
from outbound.signing import secret_new
from portal.admin_tenancy import TenantAdmin, partner_access
from portal.models import Partner


class EndpointForm(forms.ModelForm):  # type: ignore[type-arg]
    event_types = forms.MultipleChoiceField(
        choices=[(t, t) for t in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked: every event.",
    )

    class Meta:
        model = Endpoint
        fields = ["partner", "url", "event_types", "enabled"]

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        try:
            http.url_check(url)
        except http.RefusedURLError as error:
            raise ValidationError(str(error)) from None
        return url


def _secret_page(admin_: Any, request: HttpRequest, endpoint: Endpoint, secret: str) -> Any:
    context = {
        **admin_.admin_site.each_context(request),
        "title": "Signing secret",
        "opts": admin_.opts,
        "endpoint": endpoint,
        "secret": secret,
    }
    response = TemplateResponse(request, "admin/outbound/endpoint/secret.html", context)
    response["Cache-Control"] = "no-store"
    return response


@admin.register(Endpoint)
class EndpointAdmin(TenantAdmin):
    form = EndpointForm
    list_display = ["url", "partner", "enabled", "event_types", "failing_since", "created_at"]
    readonly_fields = ["failing_since", "disabled_reason", "previous_secret_until"]
    actions = ["rotate_secret"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        access = partner_access(request)
        return access.all_partners or bool(access.partner_ids(managed=True))

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        access = partner_access(request)
        if db_field.name == "partner" and not access.all_partners:
            kwargs["queryset"] = Partner.objects.filter(pk__in=access.partner_ids(managed=True))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        readonly = list(self.readonly_fields)
        return readonly if obj is None else ["partner", *readonly]

    def save_model(self, request: HttpRequest, obj: Endpoint, form: Any, change: bool) -> None:
        if not change:
            obj.secret = secret_new()
            request.endpoint_secret = obj.secret  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def response_add(
        self, request: HttpRequest, obj: Endpoint, post_url_continue: str | None = None
    ) -> HttpResponse:
        secret = getattr(request, "endpoint_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return _secret_page(self, request, obj, secret)  # type: ignore[no-any-return]

    @admin.action(description="Rotate the signing secret (the old one works 24 more hours)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> Any:
        access = partner_access(request)
        endpoints = [e for e in queryset if access.may_manage(e.partner_id)]
        if len(endpoints) != 1:
            self.message_user(request, "Choose one endpoint at a time.", messages.ERROR)
            return None
        return _secret_page(
            self, request, endpoints[0], endpoint_secret_rotate(endpoint=endpoints[0])
        )


@admin.register(Delivery)
class DeliveryAdmin(TenantAdmin):
    list_display = [
        "created_at",
        "event",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "last_duration_ms",
        "next_attempt_at",
    ]
    list_filter = ["status"]
    list_select_related = ["event", "endpoint"]
    readonly_fields = [
        "partner",
        "event",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "last_attempt_at",
        "last_status_code",
        "last_error",
        "last_duration_ms",
        "response_excerpt",
        "delivered_at",
        "created_at",
    ]
    actions = ["send_again"]

    @admin.action(description="Send again (same webhook-id)")
    def send_again(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        access = partner_access(request)
        ids = [d.pk for d in queryset if access.may_manage(d.partner_id)]
        count = deliveries_send_again(delivery_ids=ids)
        self.message_user(request, f"{count} deliveries queued again.", messages.SUCCESS)
