"""The tenant scope: which partner's rows a piece of code may see.

Tenant-owned models use `TenantManager` as their default manager. Any query through it raises
`ScopeError` unless a scope is active, so forgetting to choose a tenant fails loudly instead of
showing one partner's data to another. Code enters a scope with `partner_scope(partner)` (public
pages, tasks), `partners_scope(ids)` (a staff user's partners) or `all_partners_scope()`
(superusers, system-wide jobs such as the sweeper).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django_scopes import ScopedManager, scope, scopes_disabled
from django_scopes.exceptions import ScopeError

if TYPE_CHECKING:
    from portal.models import Partner

__all__ = [
    "ScopeError",
    "TenantManager",
    "all_partners_scope",
    "partner_scope",
    "partner_view",
    "partners_scope",
]


def TenantManager() -> models.Manager[Any]:  # noqa: N802 (reads like a class at the call site)
    """The default manager of a tenant-owned model (one with a `partner` foreign key)."""
    return ScopedManager(partner="partner")  # type: ignore[no-any-return]


@contextmanager
def partner_scope(partner: Partner) -> Iterator[None]:
    """Rows of exactly this partner."""
    if partner is None or partner.pk is None:
        # django-scopes reads `None` as "no filter"; that must never happen by accident.
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


def partner_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Resolve `<partner_slug>` from the URL to an active partner and run the view in its scope.

    The view finds the partner on `request.partner`; an unknown or inactive slug is a 404.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, partner_slug: str, **kwargs: Any) -> HttpResponse:
        from portal.selectors import partner_get_active

        partner = partner_get_active(slug=partner_slug)
        if partner is None:
            raise Http404("No such partner.")
        request.partner = partner  # type: ignore[attr-defined]
        with partner_scope(partner):
            return view(request, *args, **kwargs)

    return wrapper
