"""E-mails to the client and the partner's managers, each about one event and sent once.

A Notification row is written in the transaction that records the event; its key is unique per
partner, so a replayed event finds it and sends nothing new. Sending happens after commit, in a
task; a sweep every minute sends whatever is still unsent.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from clients.models import Notification, Onboarding
from portal.columns import fit, without_control_characters
from portal.models import PartnerMembership
from portal.queueing import enqueue, enqueue_on_commit

MAIL_LANGUAGES = ("en", "de")
TEMPLATES = "clients/notifications"


def notification_create(
    *, onboarding: Onboarding, key: str, kind: str, context: dict[str, Any]
) -> Notification | None:
    """The notification, its text rendered from its template in the onboarding's language;
    None when one with this key exists already."""
    subject, body = notification_text(kind=kind, lang=onboarding.lang, context=context)
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
    enqueue_on_commit("clients.send_notification", notification.partner_id, notification.pk)
    return notification


def notification_text(*, kind: str, lang: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of the `kind` mail in `lang` (English if we have no such language).
    Values lose control characters: a line break in the subject header makes the mail
    unsendable, a NUL unstorable."""
    lang = lang if lang in MAIL_LANGUAGES else MAIL_LANGUAGES[0]
    clean = {
        name: without_control_characters(value) if isinstance(value, str) else value
        for name, value in context.items()
    }
    text = render_to_string(f"{TEMPLATES}/{lang}/{kind}.txt", clean)
    subject, _, body = text.partition("\n")
    return fit(Notification, "subject", subject), body.strip()


def notification_send(*, notification_id: int) -> bool:
    """Send it unless it was sent; True when this call sent it."""
    with transaction.atomic():
        notification = Notification.objects.select_for_update().get(pk=notification_id)
        if notification.sent_at is not None:
            return False
        if notification.recipients:
            try:
                send_mail(
                    notification.subject,
                    notification.body,
                    settings.DEFAULT_FROM_EMAIL,
                    notification.recipients,
                )
            except Exception as error:  # the mail server: kept unsent, the sweep tries again
                notification.last_error = f"{type(error).__name__}: {error}"[:500]
                notification.save(update_fields=["last_error"])
                return False
        notification.sent_at = timezone.now()
        notification.last_error = ""
        notification.save(update_fields=["sent_at", "last_error"])
        return True


def notifications_unsent_enqueue() -> int:
    """Enqueue notifications still unsent a while after they were made (the broker was down,
    a worker died, the mail server failed), for up to a day. Needs a scope over all partners."""
    now = timezone.now()
    unsent = Notification.objects.filter(
        sent_at__isnull=True,
        created_at__lte=now - timedelta(seconds=settings.WEBHOOK_SWEEP_AFTER_SECONDS),
        created_at__gte=now - timedelta(days=1),
    ).only("pk", "partner_id")
    return sum(enqueue("clients.send_notification", n.partner_id, n.pk) for n in unsent.iterator())


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
