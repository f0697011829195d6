"""Thin Celery tasks around the deliveries (queue `outbound`)."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from outbound.services import (
    deliveries_sweep,
    delivery_attempt,
    endpoint_disabled_mail_send,
)
from portal.entry import partner_task_scope
from portal.tenancy import all_partners_scope

# A retry sooner than this is scheduled with a countdown; a later one is left to the sweep
# (a countdown longer than the broker's visibility timeout would be delivered twice).
COUNTDOWN_LIMIT = 300.0


@shared_task(bind=True, name="outbound.deliver", acks_late=True, soft_time_limit=30, time_limit=40)
def deliver(self: Task[Any, Any], partner_id: int, delivery_id: int) -> str:
    with partner_task_scope(partner_id):
        delay = delivery_attempt(delivery_id=delivery_id)
    if delay is None:
        return "done"
    if delay <= COUNTDOWN_LIMIT:
        try:
            self.apply_async((partner_id, delivery_id), countdown=delay, retry=False)
        except Exception:  # the broker is down: the sweep sends it when it is due
            return "left to the sweep"
    return f"again in {delay:.1f}s"


@shared_task(name="outbound.sweep")
def sweep() -> int:
    with all_partners_scope():
        return deliveries_sweep()


@shared_task(name="outbound.endpoint_disabled_mail", soft_time_limit=30, time_limit=40)
def endpoint_disabled_mail(partner_id: int, endpoint_id: int) -> int:
    with partner_task_scope(partner_id):
        return endpoint_disabled_mail_send(endpoint_id=endpoint_id)
