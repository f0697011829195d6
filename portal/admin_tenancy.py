"""Admin base classes for tenant-owned models.

What a staff user sees and may do follows their memberships: a viewer of a partner may look at
its rows, a manager may also change them, and only superusers add partners, manage memberships
or delete rows. The queryset is limited twice: by the tenant scope the admin middleware enters,
and explicitly here, so neither alone can leak another partner's rows.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.forms import ModelChoiceField
from django.http import HttpRequest

from portal.models import Partner, PartnerMembership
from portal.selectors import partner_ids_for_user


def is_superuser(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


def _partner_ids(request: HttpRequest, role: str | None = None) -> list[int]:
    cache_key = f"_partner_ids_{role}"
    if not hasattr(request, cache_key):
        setattr(request, cache_key, partner_ids_for_user(request.user, role=role))
    ids: list[int] = getattr(request, cache_key)
    return ids


class TenantAccessMixin:
    """Permissions from memberships; the partner of an object is found at `partner_field`."""

    partner_field = "partner"

    def _partner_id_of(self, obj: models.Model) -> int | None:
        if isinstance(obj, Partner):
            return obj.pk
        return getattr(obj, f"{self.partner_field}_id", None)

    def _may(self, request: HttpRequest, obj: models.Model | None, role: str | None) -> bool:
        if is_superuser(request):
            return True
        if not request.user.is_active or not request.user.is_staff:
            return False
        ids = _partner_ids(request, role)
        if obj is None:
            return bool(ids)
        return self._partner_id_of(obj) in ids

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._may(request, None, None)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, obj, None)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, obj, PartnerMembership.Role.MANAGER)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._may(request, None, PartnerMembership.Role.MANAGER)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request)


class TenantAdmin(TenantAccessMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """ModelAdmin for a model with a `partner` foreign key."""

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        queryset = super().get_queryset(request)
        if is_superuser(request):
            return queryset
        return queryset.filter(partner_id__in=_partner_ids(request))

    def get_list_filter(self, request: HttpRequest) -> Any:
        # RelatedOnlyFieldListFilter offers only the partners present in the (scoped) list;
        # the plain filter would list every partner's name.
        return [("partner", admin.RelatedOnlyFieldListFilter), *super().get_list_filter(request)]

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        if db_field.related_model is Partner and not is_superuser(request):
            kwargs["queryset"] = Partner.objects.filter(
                pk__in=_partner_ids(request, PartnerMembership.Role.MANAGER)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class TenantInline(TenantAccessMixin, admin.TabularInline):  # type: ignore[type-arg]
    """Inline rows always belong to the parent's partner, so the parent decides access."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
