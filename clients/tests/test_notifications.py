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
        subject="Your number is ready",
        body="It is ready.",
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
    assert (mail.subject, mail.body) == ("Your number is ready", "It is ready.")
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
