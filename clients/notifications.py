"""E-mails to the client and the partner's managers, each about one event and sent once.

A Notification row is written in the transaction that records the event; its key is unique per
partner, so a replayed event finds it and sends nothing new. Sending happens after commit, in a
task; a sweep every minute sends whatever is still unsent.
"""

from __future__ import annotations

import re
from datetime import timedelta
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from clients.models import Notification, Onboarding
from clients.phones import phone_display
from clients.selectors import contact_text
from portal.columns import fit, without_control_characters
from portal.contrast import text_on, usable_on_white
from portal.models import Partner
from portal.queueing import enqueue, enqueue_item_on_commit

MAIL_LANGUAGES = ("en", "de", "pt")
TEMPLATES = "clients/notifications"
PHONE = re.compile(r"\+\d{6,15}")


def notification_create(
    *, onboarding: Onboarding, key: str, kind: str, context: dict[str, Any]
) -> Notification | None:
    """The notification, its text rendered from its template in the onboarding's language
    (as text, and as HTML in the partner's colours), naming the partner, linking to the
    status page and giving the support contact; None when one with this key exists already."""
    context = mail_context(onboarding) | context
    if isinstance(context.get("number"), str) and PHONE.fullmatch(context["number"]):
        context["number"] = phone_display(context["number"])
    subject, body = notification_text(kind=kind, lang=onboarding.lang, context=context)
    html = notification_html(
        brand_of=onboarding.partner,
        lang=onboarding.lang,
        subject=subject,
        body=body,
        context=context,
    )
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
                html_body=html,
                recipients=recipients,
            )
    except IntegrityError:
        return None
    enqueue_item_on_commit("clients.send_notifications", notification.partner_id, notification.pk)
    return notification


def notification_text(*, kind: str, lang: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of the `kind` mail in `lang` (English if we have no such language).
    Values lose control characters: a line break in the subject header makes the mail
    unsendable, a NUL unstorable."""
    lang = _mail_language(lang)
    clean = {
        name: without_control_characters(value) if isinstance(value, str) else value
        for name, value in context.items()
    }
    text = render_to_string(f"{TEMPLATES}/{lang}/{kind}.txt", clean)
    subject, _, body = text.partition("\n")
    return fit(Notification, "subject", subject), body.strip()


def mail_context(onboarding: Onboarding) -> dict[str, Any]:
    """What every mail says besides its news: the partner, the client's name, the status
    page and whom to ask (in the onboarding's language)."""
    partner = onboarding.partner
    path = reverse(
        "clients:onboarding",
        kwargs={"partner_slug": partner.slug, "public_id": onboarding.public_id},
    )
    with translation.override(_mail_language(onboarding.lang)):
        contact = contact_text(partner)
    return {
        "partner": partner.name,
        "name": onboarding.contact_name,
        "status_url": f"{settings.PUBLIC_BASE_URL}{path}",
        "support_email": partner.support_email,
        "contact": contact,
    }


def notification_html(
    *, brand_of: Partner, lang: str, subject: str, body: str, context: dict[str, Any]
) -> str:
    """The mail as HTML: the partner's logo or name on its colour (text black or white by
    contrast), the body's paragraphs, a button to the status page, the contact."""
    with translation.override(_mail_language(lang)):
        return render_to_string(
            f"{TEMPLATES}/_mail.html",
            {
                **context,
                "lang": _mail_language(lang),
                "subject": subject,
                # The link and the contact have their own places in the HTML.
                "paragraphs": [
                    p
                    for p in body.split("\n\n")
                    if p.strip()
                    and context.get("status_url", "-") not in p
                    and p.strip() != context.get("contact")
                ],
                "logo_url": brand_of.logo_url,
                "brand": brand_of.primary_colour,
                "on_brand": text_on(brand_of.primary_colour),
                "link_colour": usable_on_white(brand_of.primary_colour, 4.5),
            },
        )


def _mail_language(lang: str) -> str:
    return lang if lang in MAIL_LANGUAGES else MAIL_LANGUAGES[0]


def notification_send(*, notification_id: int) -> bool:
    """Send it unless it was sent (or deleted since); True when this call sent it."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(of=("self",))
            .select_related("partner")
            .filter(pk=notification_id)
            .first()
        )
        if notification is None or notification.sent_at is not None:
            return False
        if notification.recipients:
            try:
                mail = EmailMultiAlternatives(
                    notification.subject,
                    notification.body,
                    _sender(notification.partner),
                    notification.recipients,
                )
                if notification.html_body:
                    mail.attach_alternative(notification.html_body, "text/html")
                mail.send()
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
    return sum(
        enqueue("clients.send_notifications", n.partner_id, [n.pk]) for n in unsent.iterator()
    )


def _sender(partner: Partner) -> str:
    """The portal's address under the partner's name: "Acme Telecom <onboarding@...>"."""
    _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((without_control_characters(partner.name), address))


def _recipients(onboarding: Onboarding) -> list[str]:
    client_email = onboarding.email or (onboarding.client.email if onboarding.client else "")
    emails = [client_email] if client_email else []
    return emails + [email for email in onboarding.partner.manager_emails if email not in emails]
