from __future__ import annotations

from celery import shared_task

from clients.notifications import notification_send
from portal.models import Partner
from portal.tenancy import partner_scope


@shared_task(name="clients.send_notification", acks_late=True)
def send_notification(partner_id: int, notification_id: int) -> bool:
    with partner_scope(Partner.objects.get(pk=partner_id)):
        return notification_send(notification_id=notification_id)
