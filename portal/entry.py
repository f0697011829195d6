"""Entering a partner's tenant scope from outside: a request for a partner's URL, a task for a
partner's id. The scope itself (portal.tenancy) knows nothing of HTTP or Celery."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse

from portal.models import Partner
from portal.queueing import gathered_enqueues
from portal.selectors import partner_get_active
from portal.tenancy import partner_scope


def partner_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Resolve `<partner_slug>` from the URL to an active partner and run the view in its
    scope, with the partner as its `partner` argument; an unknown or inactive slug is a 404."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, partner_slug: str, **kwargs: Any) -> HttpResponse:
        partner = partner_get_active(slug=partner_slug)
        if partner is None:
            raise Http404("No such partner.")
        with partner_scope(partner):
            return view(request, *args, partner=partner, **kwargs)

    return wrapper


@contextmanager
def partner_task_scope(partner_id: int) -> Iterator[Partner]:
    """For a task given a partner's id: the partner, with its scope entered until the block
    ends, and the tasks its work enqueues by the item gathered until then (one task for the
    keys of every channel the run brought to "running": portal.queueing). A partner deleted
    since the task was queued raises Partner.DoesNotExist."""
    partner = Partner.objects.get(pk=partner_id)
    with gathered_enqueues(), partner_scope(partner):
        yield partner
