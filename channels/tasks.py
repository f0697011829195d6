"""Thin Celery tasks around the channel services; each takes ids and enters the partner's scope."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task
from django.conf import settings

from channels.provisioning import channel_api_key_give_up, channel_api_key_provision
from channels.reconcile import onboarding_check, partner_reconcile
from dialog360.errors import RetryableError
from portal.backoff import backoff_seconds
from portal.models import Partner
from portal.queueing import enqueue
from portal.tenancy import partner_scope


def retry_later(task: Task[Any, Any], error: RetryableError) -> None:
    """Raise the task's retry, after a backoff that honours Retry-After; return when the
    retries are used up (PARTNER_API_MAX_RETRIES)."""
    attempt = task.request.retries + 1
    if attempt <= settings.PARTNER_API_MAX_RETRIES:
        countdown = backoff_seconds(attempt, at_least=error.retry_after or 0.0)
        raise task.retry(countdown=countdown, exc=error) from None


@shared_task(bind=True, name="channels.provision_api_key", acks_late=True, max_retries=None)
def provision_api_key(self: Task[Any, Any], partner_id: int, channel_id: int) -> str:
    partner = Partner.objects.get(pk=partner_id)
    with partner_scope(partner):
        try:
            return channel_api_key_provision(partner=partner, channel_id=channel_id)
        except RetryableError as error:
            retry_later(self, error)
            channel_api_key_give_up(channel_id=channel_id, reason=f"gave up: {error}")
            return "failed"


@shared_task(name="channels.reconcile_partner", acks_late=True, soft_time_limit=600, time_limit=660)
def reconcile_partner(partner_id: int) -> dict[str, int]:
    partner = Partner.objects.get(pk=partner_id)
    with partner_scope(partner):
        return partner_reconcile(partner=partner).as_dict()


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
    partner = Partner.objects.get(pk=partner_id)
    with partner_scope(partner):
        try:
            return onboarding_check(partner=partner, onboarding_id=onboarding_id)
        except RetryableError as error:
            retry_later(self, error)
            return 0  # retries used up: reconciliation picks it up
