"""The tenant scope: which partner's rows a piece of code may see.

Tenant-owned models use `TenantManager` as their default manager. Any query through it raises
`ScopeError` unless a scope is active, so forgetting to choose a tenant fails loudly instead of
showing one partner's data to another. Code enters a scope with `partner_scope(partner)` (public
pages, tasks), `partners_scope(ids)` (a staff user's partners) or `all_partners_scope()`
(superusers, system-wide jobs such as the sweeper). Requests and tasks enter it through
`portal.entry` (`partner_view`, `partner_task_scope`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from django.db import models
from django_scopes import scope, scopes_disabled
from django_scopes.exceptions import ScopeError
from django_scopes.state import get_scope

if TYPE_CHECKING:
    from portal.models import Partner

_M = TypeVar("_M", bound=models.Model)

__all__ = [
    "ScopeError",
    "TenantManager",
    "UnscopedQuerySet",
    "all_partners_scope",
    "partner_scope",
    "partners_scope",
]


class UnscopedQuerySet(models.QuerySet[_M]):
    """What a tenant model's manager hands out outside a tenant scope: a query that can be built
    but never run, counted, checked for existence, used as a subquery, updated or deleted.
    Only writes that name their partner explicitly (`create`, `bulk_create`) go through."""

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ScopeError(
            f"{self.model.__name__} rows belong to partners: enter a tenant scope "
            "(portal.tenancy) before querying them."
        )


# Every QuerySet method that reads or changes rows reaches the database through one of these.
_RUNNING_METHODS = (
    "_fetch_all", "iterator", "aiterator", "exists", "aexists", "count", "acount",
    "aggregate", "aaggregate", "contains", "acontains", "explain", "aexplain", "in_bulk",
    "ain_bulk", "update", "aupdate", "_update", "delete", "adelete", "_raw_delete",
    "resolve_expression",
)  # fmt: skip
for _name in _RUNNING_METHODS:
    setattr(UnscopedQuerySet, _name, UnscopedQuerySet._refuse)


class TenantManager(models.Manager[_M]):
    """The default manager of a tenant-owned model (one with a `partner` foreign key).

    It reads django-scopes' `partner` dimension. Unlike django-scopes' own manager, a scope
    whose partner is None sees nothing rather than everything, and outside a scope every way
    of running a query is refused, not only the common ones.
    """

    def get_queryset(self) -> models.QuerySet[_M]:
        current = get_scope()
        if not current.get("_enabled", True):
            return super().get_queryset()
        partner = current.get("partner")
        if partner is None:
            return UnscopedQuerySet(self.model, using=self._db)
        if isinstance(partner, list | tuple):
            return super().get_queryset().filter(partner__in=partner)
        return super().get_queryset().filter(partner=partner)


@contextmanager
def partner_scope(partner: Partner) -> Iterator[None]:
    """Rows of exactly this partner."""
    if partner is None or partner.pk is None:
        raise ScopeError("partner_scope() needs a saved Partner.")
    with scope(partner=partner.pk):
        yield


@contextmanager
def partners_scope(partner_ids: Iterable[int]) -> Iterator[None]:
    """Rows of these partners; an empty list sees nothing."""
    with scope(partner=list(partner_ids)):
        yield


@contextmanager
def all_partners_scope() -> Iterator[None]:
    """Every partner's rows: for superusers and system-wide jobs only."""
    with scopes_disabled():
        yield
