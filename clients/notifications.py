"""E-mails to the client and the partner's managers, each about one event and sent once.

A Notification row is written in the transaction that records the event; its key is unique per
partner, so a replayed event finds it and sends nothing new. Sending happens after commit, in a
task; the webhook sweep sends whatever is still unsent.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from clients.models import Notification, Onboarding
from portal.models import PartnerMembership
from portal.queueing import enqueue


def notification_create(
    *, onboarding: Onboarding, key: str, kind: str, subject: str, body: str
) -> Notification | None:
    """The notification, or None when one with this key exists already."""
    recipients = _recipients(onboarding)
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                partner_id=onboarding.partner_id,
                onboarding=onboarding,
                key=key,
                kind=kind,
                subject=subject,
                body=body,
                recipients=recipients,
            )
    except IntegrityError:
        return None
    from clients.tasks import send_notification

    transaction.on_commit(
        lambda: enqueue(send_notification, notification.partner_id, notification.pk)
    )
    return notification


def notification_send(*, notification_id: int) -> bool:
    """Send it unless it was sent; True when this call sent it."""
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=notification_id)
        if notification.sent_at is not None:
            return False
        if notification.recipients:
            send_mail(
                notification.subject,
                notification.body,
                settings.DEFAULT_FROM_EMAIL,
                notification.recipients,
            )
        notification.sent_at = timezone.now()
        notification.save(update_fields=["sent_at"])
        return True


def _recipients(onboarding: Onboarding) -> list[str]:
    client_email = onboarding.email or (onboarding.client.email if onboarding.client else "")
    managers = (
        get_user_model()
        .objects.filter(
            partner_memberships__partner_id=onboarding.partner_id,
            partner_memberships__role=PartnerMembership.Role.MANAGER,
            is_active=True,
        )
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
    )
    emails = [client_email] if client_email else []
    return emails + [email for email in managers if email not in emails]
