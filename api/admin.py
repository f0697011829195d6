"""API tokens in the admin: managers make them (the token shows once) and revoke them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from api.models import ApiToken
from api.services import api_token_prepare, api_token_secret_new, api_tokens_revoke
from portal.admin_tenancy import TenantAdmin, partner_access
from portal.models import Partner


class ApiTokenForm(forms.ModelForm):  # type: ignore[type-arg]
    scopes = forms.MultipleChoiceField(
        choices=ApiToken.Scope.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiToken
        fields = ["partner", "name", "scopes", "expires_at"]

    def clean_expires_at(self) -> Any:
        value = self.cleaned_data.get("expires_at")
        if value is not None and value <= timezone.now():
            raise forms.ValidationError("Choose a time in the future, or leave it empty.")
        return value


@admin.register(ApiToken)
class ApiTokenAdmin(TenantAdmin):
    form = ApiTokenForm
    list_display = ["name", "partner", "prefix", "scopes", "state", "expires_at", "last_used_at"]
    search_fields = ["name", "prefix"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        access = partner_access(request)
        return access.all_partners or bool(access.partner_ids(managed=True))

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["partner", "name", "scopes", "expires_at"]
        return [
            "partner",
            "name",
            "prefix",
            "scopes",
            "expires_at",
            "created_by",
            "created_at",
            "last_used_at",
            "last_used_ip",
            "revoked_at",
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return []
        # A token is changed by revoking it and making another.
        return self.get_fields(request, obj)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        access = partner_access(request)
        if db_field.name == "partner" and not access.all_partners:
            kwargs["queryset"] = Partner.objects.filter(pk__in=access.partner_ids(managed=True))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        if not change:
            secret = api_token_secret_new()
            api_token_prepare(obj, secret)
            obj.created_by = request.user if isinstance(request.user, User) else None
            request.api_token_secret = secret  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def response_add(
        self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        """The token, shown this once: only its hash is stored."""
        secret = getattr(request, "api_token_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": "API token made",
            "opts": self.opts,
            "token": obj,
            "secret": secret,
        }
        response = TemplateResponse(request, "admin/api/apitoken/made.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.display(description="state")
    def state(self, obj: ApiToken) -> str:
        if obj.revoked_at:
            return "revoked"
        return "active" if obj.usable() else "expired"

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        access = partner_access(request)
        managed = [token.pk for token in queryset if access.may_manage(token.partner_id)]
        count = api_tokens_revoke(token_ids=managed)
        self.message_user(request, f"{count} token(s) revoked.", messages.SUCCESS)
