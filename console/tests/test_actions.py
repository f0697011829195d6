"""The console's actions: managers act, viewers get 403 on every one, another partner's rows
are not there; each action lands on the timeline and in the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from channels.models import Channel
from channels.tests.factories import ApiKeyFactory, ChannelFactory
from clients.models import Notification, Onboarding, TimelineEntry
from clients.tests.factories import NotificationFactory, OnboardingFactory
from console.models import StuckFlag, StuckReason
from console.views import CHANNEL_ACTIONS, ONBOARDING_ACTIONS
from portal.models import PartnerMembership
from portal.tenancy import all_partners_scope
from portal.tests.factories import MembershipFactory, PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alpha():
    return PartnerFactory.create(slug="alpha", name="Alpha Hub")


@pytest.fixture
def bravo():
    return PartnerFactory.create(slug="bravo", name="Bravo Hub")


def staff(partner, role, username) -> HttpClient:
    membership = MembershipFactory.create(partner=partner, role=role, user__username=username)
    http = HttpClient()
    http.force_login(membership.user)
    return http


@pytest.fixture
def manager(alpha) -> HttpClient:
    return staff(alpha, PartnerMembership.Role.MANAGER, "mia")


@pytest.fixture
def viewer(alpha) -> HttpClient:
    return staff(alpha, PartnerMembership.Role.VIEWER, "vic")


@pytest.fixture
def onboarding(alpha):
    return OnboardingFactory.create(
        partner=alpha,
        email="ada@bakery.example",
        status=Onboarding.Status.RETURNED,
        returned_at=timezone.now(),
        return_data={"client": "cl_ada", "channels": ["ch_ada"], "revoked": []},
    )


@pytest.fixture
def channel(onboarding):
    return ChannelFactory.create(
        client__partner=onboarding.partner,
        onboarding=onboarding,
        hub_channel_id="ch_ada",
        phone_number="4915112345678",
        status=Channel.Status.RUNNING,
    )


def entries():
    with all_partners_scope():
        return list(
            AuditEntry.objects.order_by("pk").values_list(
                "actor", "action", "target_type", "outcome", "reason"
            )
        )


def notes(onboarding):
    with all_partners_scope():
        return list(
            TimelineEntry.objects.filter(onboarding=onboarding, data__has_key="action")
            .order_by("pk")
            .values_list("message", flat=True)
        )


def onboarding_url(onboarding, action):
    return reverse("console:onboarding_action", args=[onboarding.pk, action])


def channel_url(channel, action):
    return reverse("console:channel_action", args=[channel.pk, action])


@pytest.mark.parametrize("action", list(ONBOARDING_ACTIONS))
def test_a_viewer_gets_403_on_every_onboarding_action_and_the_refusal_is_audited(
    action, viewer, onboarding
):
    assert viewer.get(onboarding_url(onboarding, action)).status_code == 403

    response = viewer.post(onboarding_url(onboarding, action), {"text": "try"})

    assert response.status_code == 403
    assert entries() == [
        ("vic", f"onboarding.{action}", "onboarding", "refused", "not a manager of this partner")
    ]
    assert notes(onboarding) == []


@pytest.mark.parametrize("action", [*CHANNEL_ACTIONS, "reveal"])
def test_a_viewer_gets_403_on_every_channel_action(action, viewer, channel):
    url = (
        reverse("console:channel_key_reveal", args=[channel.pk])
        if action == "reveal"
        else channel_url(channel, action)
    )
    assert viewer.get(url).status_code == 403

    response = viewer.post(url, {"text": "try"})

    assert response.status_code == 403
    assert [entry[:4] for entry in entries()] == [
        ("vic", f"api_key.{action}", "channel", "refused")
    ]


@pytest.mark.parametrize("action", list(ONBOARDING_ACTIONS))
def test_another_partners_onboarding_is_not_there_for_a_manager(action, manager, bravo):
    theirs = OnboardingFactory.create(partner=bravo)

    assert manager.get(onboarding_url(theirs, action)).status_code == 404
    assert manager.post(onboarding_url(theirs, action), {"text": "x"}).status_code == 404
    assert entries() == []


@pytest.mark.parametrize("action", [*CHANNEL_ACTIONS, "reveal"])
def test_another_partners_channel_is_not_there_for_a_manager(action, manager, bravo):
    theirs = ChannelFactory.create(client__partner=bravo)
    url = (
        reverse("console:channel_key_reveal", args=[theirs.pk])
        if action == "reveal"
        else channel_url(theirs, action)
    )

    assert manager.get(url).status_code == 404
    assert manager.post(url, {"text": "x"}).status_code == 404


def test_the_confirmation_page_explains_before_anything_happens(manager, channel):
    ApiKeyFactory.create(channel=channel)

    html = manager.get(channel_url(channel, "rotate")).content.decode()

    assert "The old key stops working at once" in html
    assert entries() == []


def test_a_manager_adds_a_note(manager, onboarding):
    response = manager.post(onboarding_url(onboarding, "note"), {"text": "Called Ada, she retries"})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:clients_onboarding_change", args=[onboarding.pk])
    assert notes(onboarding) == ["mia: Note: Called Ada, she retries"]
    assert entries() == [("mia", "onboarding.note", "onboarding", "ok", "Called Ada, she retries")]


def test_a_note_needs_text(manager, onboarding):
    response = manager.post(onboarding_url(onboarding, "note"), {"text": ""})

    assert response.status_code == 200
    assert entries() == []


def test_a_manager_marks_an_onboarding_expired(manager, onboarding):
    with all_partners_scope():
        StuckFlag.objects.create(
            partner=onboarding.partner,
            onboarding=onboarding,
            reason=StuckReason.RETURNED_NO_CHANNEL,
            since=timezone.now(),
        )

    manager.post(onboarding_url(onboarding, "expire"), {"text": "client gave up"})

    with all_partners_scope():
        onboarding.refresh_from_db()
        flags = StuckFlag.objects.count()
    assert onboarding.status == Onboarding.Status.EXPIRED
    assert flags == 0
    assert notes(onboarding) == ["mia: Marked expired (client gave up)."]
    assert entries() == [("mia", "onboarding.expire", "onboarding", "ok", "client gave up")]


def test_a_live_onboarding_is_not_marked_expired(manager, onboarding):
    with all_partners_scope():
        Onboarding.objects.filter(pk=onboarding.pk).update(status=Onboarding.Status.LIVE)

    manager.post(onboarding_url(onboarding, "expire"), {"text": "oops"})

    with all_partners_scope():
        onboarding.refresh_from_db()
    assert onboarding.status == Onboarding.Status.LIVE
    assert entries() == [("mia", "onboarding.expire", "onboarding", "failed", "oops")]


def test_a_manager_marks_a_stuck_onboarding_resolved(manager, onboarding):
    with all_partners_scope():
        flag = StuckFlag.objects.create(
            partner=onboarding.partner,
            onboarding=onboarding,
            reason=StuckReason.RETURNED_NO_CHANNEL,
            since=timezone.now() - timedelta(hours=1),
        )

    manager.post(onboarding_url(onboarding, "resolve"), {"text": "number moved to another BSP"})

    with all_partners_scope():
        flag.refresh_from_db()
    assert flag.resolved_at is not None
    assert flag.resolved_by is not None
    assert flag.resolved_by.username == "mia"
    assert notes(onboarding) == ["mia: Marked resolved (number moved to another BSP)."]
    assert entries() == [
        ("mia", "onboarding.resolve", "onboarding", "ok", "number moved to another BSP")
    ]


def test_resync_queues_the_check_of_the_returned_client(
    manager, onboarding, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        manager.post(onboarding_url(onboarding, "resync"), {})

    assert len(queued) == 1
    assert notes(onboarding) == ["mia: Re-sync with the Partner API queued (client cl_ada)."]
    assert entries() == [("mia", "onboarding.resync", "onboarding", "ok", "")]


def test_resend_sends_the_latest_mail_again_as_a_new_mail(manager, onboarding):
    first = NotificationFactory.create(
        onboarding=onboarding, subject="Your number is ready", sent_at=timezone.now()
    )

    manager.post(onboarding_url(onboarding, "resend"), {})

    with all_partners_scope():
        mails = list(
            Notification.objects.order_by("pk").values_list("subject", "recipients", "sent_at")
        )
    assert mails == [
        ("Your number is ready", first.recipients, first.sent_at),
        ("Your number is ready", first.recipients, None),
    ]
    assert notes(onboarding) == ["mia: Mail “Your number is ready” queued again."]
    assert entries() == [("mia", "notification.resend", "onboarding", "ok", "")]


def test_resend_without_a_mail_says_so(manager, onboarding):
    response = manager.post(onboarding_url(onboarding, "resend"), {}, follow=True)

    assert "This onboarding has no mail to send again." in response.content.decode()
    assert entries() == [("mia", "notification.resend", "onboarding", "failed", "")]


def test_retry_clears_a_final_key_error_and_queues_the_key(
    manager, channel, django_capture_on_commit_callbacks
):
    with all_partners_scope():
        Channel.objects.filter(pk=channel.pk).update(
            api_key_error="create_api_key: 400 bad request", api_key_error_at=timezone.now()
        )

    with django_capture_on_commit_callbacks(execute=False) as queued:
        manager.post(channel_url(channel, "retry"), {})

    with all_partners_scope():
        channel.refresh_from_db()
    assert channel.api_key_error == ""
    assert len(queued) == 1
    assert entries() == [("mia", "api_key.retry", "channel", "ok", "")]
    assert notes(channel.onboarding) == ["mia: Retry of the API key for +4915112345678 queued."]


def test_retry_without_an_error_changes_nothing(manager, channel):
    manager.post(channel_url(channel, "retry"), {})

    assert entries() == [("mia", "api_key.retry", "channel", "failed", "")]


@pytest.fixture
def fresh_cache():
    cache.clear()  # this run's own Redis database: the reveal counters start at zero
    yield
    cache.clear()


def test_a_manager_reveals_a_key_with_a_reason_and_it_is_audited(manager, channel, fresh_cache):
    key = ApiKeyFactory.create(channel=channel, key="wa-key-0123456789abcdef")
    url = reverse("console:channel_key_reveal", args=[channel.pk])

    page = manager.get(url)
    response = manager.post(url, {"text": "platform lost the key"})

    assert "wa-key-0123456789abcdef" not in page.content.decode()
    assert f"…cdef · {key.fingerprint}" in page.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert '<code class="console-key" data-key>wa-key-0123456789abcdef</code>' in (
        response.content.decode()
    )
    assert entries() == [("mia", "api_key.reveal", "channel", "ok", "platform lost the key")]
    assert notes(channel.onboarding) == [
        "mia: API key of +4915112345678 revealed (platform lost the key)."
    ]


def test_revealing_needs_a_reason(manager, channel, fresh_cache):
    ApiKeyFactory.create(channel=channel, key="wa-key-0123456789abcdef")

    response = manager.post(reverse("console:channel_key_reveal", args=[channel.pk]), {"text": ""})

    assert "wa-key-0123456789abcdef" not in response.content.decode()
    assert entries() == []


def test_reveals_are_rate_limited_per_user(manager, channel, settings, fresh_cache):
    settings.KEY_REVEAL_RATE_LIMIT = "2/3600"
    ApiKeyFactory.create(channel=channel, key="wa-key-0123456789abcdef")
    url = reverse("console:channel_key_reveal", args=[channel.pk])

    answers = [manager.post(url, {"text": f"need {n}"}) for n in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert "wa-key-0123456789abcdef" not in answers[2].content.decode()
    assert [entry[3] for entry in entries()] == ["ok", "ok", "refused"]
