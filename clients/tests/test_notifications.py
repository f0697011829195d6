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
    partner = PartnerFactory.create()
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
    assert (mail.subject, mail.body) == (
        "Your WhatsApp number +4915112345678 is ready",
        "The WhatsApp number +4915112345678 is connected and its API key is ready. Your "
        "provider will now set up messaging for you.",
    )
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
    assert mail.subject == "Ihre WhatsApp-Nummer +4915112345678 ist bereit"
    assert mail.body.startswith("Die WhatsApp-Nummer +4915112345678 ist verbunden")


def test_a_language_without_mails_gets_english(onboarding):
    onboarding.lang = "fr"
    notification = create(onboarding)

    assert notification is not None
    assert notification.subject == "Your WhatsApp number +4915112345678 is ready"


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
