"""Admin base classes for tenant-owned models.

What a staff user sees and may do follows their memberships: a viewer of a partner may look at
its rows, a manager may also change them; only superusers manage partners' connections and
memberships or delete rows. Tenant rows are made by the system (webhooks, onboardings), never
added by hand. Querysets are limited twice: by the tenant scope the admin middleware enters,
and explicitly here, so neither alone can leak another partner's rows.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.contrib.admin.filters import FieldListFilter, ListFilter
from django.contrib.admin.utils import get_fields_from_path
from django.db import models
from django.forms import ModelChoiceField
from django.http import HttpRequest

from portal.models import Partner, TenantModel
from portal.paging import CappedPaginator
from portal.selectors import PartnerAccess, partner_access_for


def partner_access(request: HttpRequest) -> PartnerAccess:
    """The signed-in user's access, as computed once per request by the admin middleware."""
    access = getattr(request, "partner_access", None)
    if access is None:
        access = partner_access_for(request.user)
        request.partner_access = access  # type: ignore[attr-defined]
    return access


def is_superuser(request: HttpRequest) -> bool:
    return partner_access(request).all_partners


class SuperuserOnly:
    """For admin pages about tenancy itself (memberships): superusers only, whatever model
    permissions a staff user may have been given."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_superuser(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return is_superuser(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request)


class AllowedLookupsMixin:
    """A changelist's query string may hold only the lookups its own filters and date
    hierarchy make, with no NUL character in any value or search term. Django allows any
    lookup on a model's own fields, so `?webhook_token_hash__regex=^a` would let whoever sees
    the list find a column's value one character at a time; a NUL would reach PostgreSQL,
    which refuses it (a 500). Refused lookups answer 400."""

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        if request is None or "\x00" in str(value):
            return False
        return lookup in self.allowed_lookups(request)

    def allowed_lookups(self, request: HttpRequest) -> set[str]:
        """The query parameters the list filters and the date hierarchy read."""
        model_admin = cast("admin.ModelAdmin[Any]", self)
        model = model_admin.model
        allowed: set[str] = set()
        if model_admin.date_hierarchy:
            hierarchy = model_admin.date_hierarchy
            allowed |= {f"{hierarchy}__{part}" for part in ("year", "month", "day")}
        for item in model_admin.get_list_filter(request):
            if isinstance(item, type) and issubclass(item, ListFilter):
                spec: ListFilter = item(request, {}, model, model_admin)
            else:
                path, factory = _field_filter(item)
                field = get_fields_from_path(model, path)[-1]
                spec = factory(field, request, {}, model, model_admin, field_path=path)
            allowed.update(name for name in spec.expected_parameters() if name)
        return allowed

    def get_search_results(
        self, request: HttpRequest, queryset: models.QuerySet[Any], search_term: str
    ) -> tuple[models.QuerySet[Any], bool]:
        return super().get_search_results(  # type: ignore[misc,no-any-return]
            request, queryset, search_term.replace("\x00", "")
        )


def _field_filter(item: Any) -> tuple[str, Any]:
    """A list_filter entry naming a field: its path and the filter class (or factory)."""
    if isinstance(item, list | tuple):
        return str(item[0]), item[1]
    return str(item), FieldListFilter.create


class TenantAccessMixin:
    """Permissions from memberships; an object's partner is itself (Partner) or `obj.partner`."""

    @staticmethod
    def _partner_id_of(obj: models.Model) -> int | None:
        if isinstance(obj, Partner):
            return obj.pk
        partner_id: int | None = getattr(obj, "partner_id", None)
        return partner_id

    def has_module_permission(self, request: HttpRequest) -> bool:
        access = partner_access(request)
        return access.all_partners or bool(access.roles)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        access = partner_access(request)
        if obj is None:
            return access.all_partners or bool(access.roles)
        return access.may_view(self._partner_id_of(obj))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        access = partner_access(request)
        if obj is None:
            return access.all_partners or bool(access.partner_ids(managed=True))
        return access.may_manage(self._partner_id_of(obj))

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_superuser(request)


class PartnerFilter(admin.SimpleListFilter):
    """The partners the user may see, read from their memberships (superusers: every
    partner): not the list's distinct partners, which would read a table of millions, and
    not every partner's name for a member of one."""

    title = "partner"
    parameter_name = "partner__id__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        access = partner_access(request)
        partners = Partner.objects.order_by("name")
        if not access.all_partners:
            partners = partners.filter(pk__in=access.partner_ids())
        return [(str(pk), name) for pk, name in partners.values_list("pk", "name")]

    def queryset(self, request: HttpRequest, queryset: models.QuerySet[Any]) -> Any:
        value = self.value()
        if value is None:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(partner_id=int(value))


class TenantAdmin(AllowedLookupsMixin, TenantAccessMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    """ModelAdmin for a TenantModel. Lists count at most COUNT_CAP rows (portal.paging): a
    full count of a table of millions takes longer than the page should."""

    paginator = CappedPaginator
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Any]:
        queryset = super().get_queryset(request)
        access = partner_access(request)
        if access.all_partners:
            return queryset
        return queryset.filter(partner_id__in=access.partner_ids())

    def get_list_filter(self, request: HttpRequest) -> Any:
        return [PartnerFilter, *super().get_list_filter(request)]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A row never moves to another partner: its children and its 360Dialog ids stay behind.
        return ["partner", *super().get_readonly_fields(request, obj)]

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField[Any] | None:
        # Links may only point at rows of partners this user manages; TenantModel.clean()
        # then requires the very partner of the row being edited.
        related = db_field.related_model
        access = partner_access(request)
        if (
            isinstance(related, type)
            and issubclass(related, TenantModel)
            and not access.all_partners
        ):
            kwargs["queryset"] = related._default_manager.filter(
                partner_id__in=access.partner_ids(managed=True)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class TenantInline(TenantAccessMixin, admin.TabularInline):  # type: ignore[type-arg]
    """Read-only rows of the parent's partner; the parent decides access."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
