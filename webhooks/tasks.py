"""Thin Celery tasks around the webhook services (queue `webhooks`)."""

from __future__ import annotations

from celery import shared_task

from portal.entry import partner_task_scope
from portal.tenancy import all_partners_scope
from webhooks.services import webhook_event_process, webhook_events_process, webhook_events_sweep


# acks_late + reject_on_worker_lost: a worker killed mid-event gives the message back; the
# service's row lock and status make the second run a no-op if the first one committed.
@shared_task(
    name="webhooks.process_event", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def process_event(partner_id: int, event_pk: int) -> str:
    with partner_task_scope(partner_id) as partner:
        return webhook_event_process(partner=partner, event_pk=event_pk)


# What the relay sends: a batch of one partner's events, applied in the given order, together
# in one transaction (each alone when one of them fails).
@shared_task(
    name="webhooks.process_events", acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def process_events(partner_id: int, event_pks: list[int]) -> dict[str, int]:
    with partner_task_scope(partner_id) as partner:
        return webhook_events_process(partner=partner, event_pks=event_pks)


@shared_task(name="webhooks.sweep")
def sweep() -> int:
    with all_partners_scope():
        return webhook_events_sweep()
