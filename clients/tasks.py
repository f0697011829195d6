"""Thin Celery tasks around the notification services; each takes ids and enters the partner's
scope."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from clients.notifications import notification_send, notifications_unsent_enqueue
from clients.services import onboardings_expire
from portal.backoff import TRANSIENT_DATABASE_ERRORS, task_retry_later
from portal.entry import partner_task_scope
from portal.tenancy import all_partners_scope


@shared_task(bind=True, name="clients.send_notifications", acks_late=True, max_retries=None)
def send_notifications(self: Task[Any, Any], partner_id: int, notification_ids: list[int]) -> int:
    """Send each unless it was sent (a retry skips those an earlier run sent); how many this
    run sent."""
    try:
        with partner_task_scope(partner_id):
            return sum(notification_send(notification_id=pk) for pk in notification_ids)
    except TRANSIENT_DATABASE_ERRORS as error:
        task_retry_later(self, error, max_retries=5)
        return 0  # the sweep sends them later


# One notification: what was queued before mails were sent in batches.
@shared_task(bind=True, name="clients.send_notification", acks_late=True, max_retries=None)
def send_notification(self: Task[Any, Any], partner_id: int, notification_id: int) -> bool:
    try:
        with partner_task_scope(partner_id):
            return notification_send(notification_id=notification_id)
    except TRANSIENT_DATABASE_ERRORS as error:
        task_retry_later(self, error, max_retries=5)
        return False  # the sweep sends it later


@shared_task(name="clients.expire_onboardings")
def expire_onboardings() -> int:
    with all_partners_scope():
        return onboardings_expire()


@shared_task(name="clients.send_unsent_notifications")
def send_unsent_notifications() -> int:
    with all_partners_scope():
        return notifications_unsent_enqueue()
