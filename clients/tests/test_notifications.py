"""E-mails about an event go to the client and the partner's managers, once."""

from __future__ import annotations

import pytest

from clients.models import Notification
from clients.notifications import notification_create, notification_send
from clients.tests.factories import OnboardingFactory
from portal.models import PartnerMembership
from portal.tenancy import partner_scope
from portal.tests.factories import MembershipFactory, PartnerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def onboarding():
    partner = PartnerFactory.create(
        slug="acme", name="Acme Telecom", support_email="help@acme.example"
    )
    MembershipFactory.create(partner=partner, user=UserFactory.create(email="zoe@partner.example"))
    MembershipFactory.create(partner=partner, user=UserFactory.create(email="amy@partner.example"))
    MembershipFactory.create(
        partner=partner,
        user=UserFactory.create(email="viewer@partner.example"),
        role=PartnerMembership.Role.VIEWER,
    )
    MembershipFactory.create(
        partner=partner, user=UserFactory.create(email="gone@partner.example", is_active=False)
    )
    MembershipFactory.create(partner=partner, user=UserFactory.create(email=""))
    MembershipFactory.create(user=UserFactory.create(email="other@partner.example"))
    onboarding = OnboardingFactory.create(partner=partner, email="ada@acme.example")
    with partner_scope(partner):
        yield onboarding


def create(onboarding, key="key_ready:1"):
    return notification_create(
        onboarding=onboarding,
        key=key,
        kind=Notification.Kind.KEY_READY,
        context={"number": "+4915112345678"},
    )


def test_the_client_and_the_managers_are_told_once(
    onboarding, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        notification = create(onboarding)
    assert notification is not None
    assert len(callbacks) == 1  # sending is enqueued after commit

    assert notification_send(notification_id=notification.pk) is True
    assert notification_send(notification_id=notification.pk) is False

    [mail] = mailoutbox
    assert mail.to == ["ada@acme.example", "amy@partner.example", "zoe@partner.example"]
    assert mail.from_email == "Acme Telecom <onboarding@localhost>"
    assert (mail.subject, mail.body) == (
        "Your WhatsApp number +49 1511 2345678 is ready",
        "Hello Ada Baker,\n\n"
        "your WhatsApp number +49 1511 2345678 is connected to Acme Telecom. Acme Telecom can "
        "now send and receive WhatsApp messages with it.\n\n"
        f"See the status of your numbers: https://portal.test/p/acme/o/{onboarding.public_id}/"
        "\n\nQuestions? Write to help@acme.example.",
    )
    [(html, kind)] = mail.alternatives
    assert kind == "text/html"
    assert '<html lang="en">' in html
    assert (
        f'<a href="https://portal.test/p/acme/o/{onboarding.public_id}/" style="display:'
        "inline-block;background:#128c7e;color:#000000;"
    ) in html
    assert '<a href="mailto:help@acme.example" style="color:#1f2933;">' in html
    notification.refresh_from_db()
    assert notification.sent_at is not None


def test_the_same_event_never_makes_a_second_notification(onboarding):
    assert create(onboarding) is not None

    assert create(onboarding) is None
    assert create(onboarding, key="key_ready:2") is not None
    assert Notification.objects.count() == 2


def test_with_nobody_to_tell_nothing_is_sent(mailoutbox):
    onboarding = OnboardingFactory.create(email="")
    with partner_scope(onboarding.partner):
        notification = create(onboarding)
        assert notification is not None
        assert notification.recipients == []
        assert notification_send(notification_id=notification.pk) is True
    assert mailoutbox == []


def test_a_mail_server_failure_keeps_it_unsent_for_the_sweep(onboarding, settings):
    from datetime import timedelta

    from django.utils import timezone

    from clients.notifications import notifications_unsent_enqueue
    from conftest import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens
    settings.WEBHOOK_SWEEP_AFTER_SECONDS = 60
    notification = create(onboarding)
    assert notification is not None

    assert notification_send(notification_id=notification.pk) is False

    notification.refresh_from_db()
    assert notification.sent_at is None
    assert notification.last_error.startswith("ConnectionRefusedError")
    assert notifications_unsent_enqueue() == 0  # too recent
    Notification.objects.filter(pk=notification.pk).update(
        created_at=timezone.now() - timedelta(minutes=2)
    )
    assert notifications_unsent_enqueue() == 1
    Notification.objects.filter(pk=notification.pk).update(
        created_at=timezone.now() - timedelta(days=2)
    )
    assert notifications_unsent_enqueue() == 0  # given up after a day


def test_the_mail_is_in_the_onboardings_language(onboarding, mailoutbox):
    onboarding.lang = "de"
    notification = create(onboarding)
    assert notification is not None

    notification_send(notification_id=notification.pk)

    [mail] = mailoutbox
    assert mail.subject == "Ihre WhatsApp-Nummer +49 1511 2345678 ist bereit"
    assert mail.body.startswith(
        "Hallo Ada Baker,\n\nIhre WhatsApp-Nummer +49 1511 2345678 ist mit Acme Telecom verbunden."
    )
    assert mail.body.endswith("Fragen? Schreiben Sie an help@acme.example.")


def test_a_language_without_mails_gets_english(onboarding):
    onboarding.lang = "fr"
    notification = create(onboarding)

    assert notification is not None
    assert notification.subject == "Your WhatsApp number +49 1511 2345678 is ready"


def test_control_characters_never_reach_the_subject(onboarding, mailoutbox):
    notification = notification_create(
        onboarding=onboarding,
        key="onboarding_failed:1",
        kind=Notification.Kind.ONBOARDING_FAILED,
        context={"number": "+49151\r\nBcc: everyone@example.com\x00"},
    )
    assert notification is not None

    assert notification_send(notification_id=notification.pk) is True

    [mail] = mailoutbox
    assert mail.subject == (
        "WhatsApp onboarding of +49151  Bcc: everyone@example.com needs attention"
    )


SUBJECTS = {
    ("en", "key_ready"): "Your WhatsApp number +49 1511 2345678 is ready",
    ("en", "onboarding_failed"): "WhatsApp onboarding of +49 1511 2345678 needs attention",
    ("de", "key_ready"): "Ihre WhatsApp-Nummer +49 1511 2345678 ist bereit",
    ("de", "onboarding_failed"): (
        "Die WhatsApp-Anmeldung von +49 1511 2345678 braucht Aufmerksamkeit"
    ),
    ("pt", "key_ready"): "O seu número de WhatsApp +49 1511 2345678 está pronto",
    ("pt", "onboarding_failed"): "A ligação do WhatsApp +49 1511 2345678 precisa de atenção",
}
CONTACT = {
    "en": "Questions? Contact Acme Telecom.",
    "de": "Fragen? Wenden Sie sich an Acme Telecom.",
    "pt": "Dúvidas? Contacte a Acme Telecom.",
}


@pytest.mark.parametrize(("lang", "kind"), sorted(SUBJECTS))
def test_every_mail_renders_in_every_language(onboarding, mailoutbox, lang, kind):
    """A preview of each mail: the partner named, the status page linked, the contact given
    (here the partner itself: it has no support address), text and HTML."""
    onboarding.partner.support_email = ""
    onboarding.partner.logo_url = "https://acme.example/logo.png"
    onboarding.lang = lang
    notification = notification_create(
        onboarding=onboarding, key=f"{kind}:1", kind=kind, context={"number": "+4915112345678"}
    )
    assert notification is not None
    notification_send(notification_id=notification.pk)

    [mail] = mailoutbox
    status_url = f"https://portal.test/p/acme/o/{onboarding.public_id}/"
    [(html, _)] = mail.alternatives
    assert mail.subject == SUBJECTS[lang, kind]
    assert mail.from_email == "Acme Telecom <onboarding@localhost>"
    assert "Acme Telecom" in mail.body.split("\n\n")[1]
    assert mail.body.endswith(f"{status_url}\n\n{CONTACT[lang]}")
    assert f'<html lang="{lang}">' in html
    assert '<img src="https://acme.example/logo.png" alt="Acme Telecom"' in html
    assert f'<a href="{status_url}"' in html and CONTACT[lang] in html
    assert "{{" not in mail.body + html and "{%" not in mail.body + html
