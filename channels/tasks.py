"""Thin Celery tasks around the channel services (queue `hub`); each takes ids and enters the
partner's scope. Partner API failures that can pass (429, 5xx, transport) and transient
database errors (a deadlock, a lost connection) are retried with backoff."""

from __future__ import annotations

from collections import Counter
from typing import Any

from celery import Task, shared_task
from django.conf import settings

from channels.provisioning import (
    channel_api_key_give_up,
    channel_api_key_provision,
    channel_api_keys_provision,
)
from channels.reconcile import onboarding_check, partner_reconcile
from dialog360.errors import RetryableError
from portal.backoff import TRANSIENT_DATABASE_ERRORS, task_retry_later
from portal.entry import partner_task_scope
from portal.models import Partner
from portal.queueing import enqueue

RETRYABLE = (RetryableError, *TRANSIENT_DATABASE_ERRORS)


# Channels per key task are gathered from a run's work (portal.queueing): a run stops starting
# channels after this long, well inside the task time limit, and queues the rest anew.
KEYS_TASK_SECONDS = 20.0


@shared_task(bind=True, name="channels.provision_api_keys", acks_late=True, max_retries=None)
def provision_api_keys(
    self: Task[Any, Any], partner_id: int, channel_ids: list[int]
) -> dict[str, int]:
    """A key for each channel, in order. Channels that met a retryable error are retried
    together with backoff; when the retries are used up, each of them is given up (recorded
    where the admin shows it). Channels there was no time for are queued again at once."""
    try:
        with partner_task_scope(partner_id) as partner:
            run = channel_api_keys_provision(
                partner=partner, channel_ids=channel_ids, seconds=KEYS_TASK_SECONDS
            )
    except TRANSIENT_DATABASE_ERRORS as problem:  # before any channel: loading the partner
        task_retry_later(self, problem, max_retries=settings.PARTNER_API_MAX_RETRIES)
        raise  # retries used up: reconciliation queues the keys again
    if run.left:
        enqueue("channels.provision_api_keys", partner_id, run.left)
    if run.error is not None:
        task_retry_later(
            self,
            run.error,
            max_retries=settings.PARTNER_API_MAX_RETRIES,
            args=(partner_id, list(run.failed)),
        )
        with partner_task_scope(partner_id):
            for channel_id, failure in run.failed.items():
                channel_api_key_give_up(channel_id=channel_id, reason=f"gave up: {failure}")
    counts = Counter(str(outcome) for outcome in run.outcomes.values())
    return dict(counts, failed=len(run.failed), left=len(run.left))


# One channel: what was queued before keys were asked for in batches.
@shared_task(bind=True, name="channels.provision_api_key", acks_late=True, max_retries=None)
def provision_api_key(self: Task[Any, Any], partner_id: int, channel_id: int) -> str:
    try:
        with partner_task_scope(partner_id) as partner:
            return channel_api_key_provision(partner=partner, channel_id=channel_id)
    except RETRYABLE as error:
        task_retry_later(self, error, max_retries=settings.PARTNER_API_MAX_RETRIES)
        with partner_task_scope(partner_id):
            channel_api_key_give_up(channel_id=channel_id, reason=f"gave up: {error}")
        return "failed"


@shared_task(
    bind=True,
    name="channels.reconcile_partner",
    acks_late=True,
    max_retries=None,
    soft_time_limit=600,
    time_limit=660,
)
def reconcile_partner(self: Task[Any, Any], partner_id: int) -> dict[str, int]:
    try:
        with partner_task_scope(partner_id) as partner:
            return partner_reconcile(partner=partner).as_dict()
    except TRANSIENT_DATABASE_ERRORS as error:
        task_retry_later(self, error, max_retries=settings.PARTNER_API_MAX_RETRIES)
        raise  # retries used up: the next scheduled run starts over


@shared_task(name="channels.reconcile_all")
def reconcile_all() -> int:
    """Fan out: one reconciliation task per active, connected partner."""
    partner_ids = list(
        Partner.objects.filter(is_active=True)
        .exclude(api_key__exact="")
        .values_list("pk", flat=True)
    )
    for partner_id in partner_ids:
        enqueue("channels.reconcile_partner", partner_id)
    return len(partner_ids)


@shared_task(bind=True, name="channels.check_onboarding", acks_late=True, max_retries=None)
def check_onboarding(self: Task[Any, Any], partner_id: int, onboarding_id: int) -> int:
    """After a return: the Partner API's view of the client's channels."""
    try:
        with partner_task_scope(partner_id) as partner:
            return onboarding_check(partner=partner, onboarding_id=onboarding_id)
    except RETRYABLE as error:
        task_retry_later(self, error, max_retries=settings.PARTNER_API_MAX_RETRIES)
        return 0  # retries used up: reconciliation picks it up
