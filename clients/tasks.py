from __future__ import annotations

from celery import shared_task

from clients.notifications import notification_send, notifications_unsent_enqueue
from portal.models import Partner
from portal.tenancy import all_partners_scope, partner_scope


@shared_task(name="clients.send_notification", acks_late=True)
def send_notification(partner_id: int, notification_id: int) -> bool:
    with partner_scope(Partner.objects.get(pk=partner_id)):
        return notification_send(notification_id=notification_id)


@shared_task(name="clients.send_unsent_notifications")
def send_unsent_notifications() -> int:
    with all_partners_scope():
        return notifications_unsent_enqueue()
