"""The console's pages: the home page (funnel, charts, needs attention), the onboarding's story
and the audit log, each for two partners, each with a fixed number of queries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from audit.services import audit_record
from channels.models import Channel
from channels.tests.factories import ApiKeyFactory, ChannelFactory
from clients.models import Onboarding
from clients.tests.factories import (
    ClientFactory,
    NotificationFactory,
    OnboardingFactory,
    TimelineEntryFactory,
)
from console.models import StuckFlag, StuckReason
from portal.models import PartnerMembership
from portal.tenancy import all_partners_scope, partner_scope
from portal.tests.factories import MembershipFactory, PartnerFactory, UserFactory
from webhooks.tests.factories import WebhookEventFactory

pytestmark = pytest.mark.django_db


def logged_in(user) -> HttpClient:
    http = HttpClient()
    http.force_login(user)
    return http


@pytest.fixture
def alpha():
    return PartnerFactory.create(slug="alpha", name="Alpha Hub")


@pytest.fixture
def bravo():
    return PartnerFactory.create(slug="bravo", name="Bravo Hub")


@pytest.fixture
def manager(alpha, bravo):
    membership = MembershipFactory.create(
        partner=alpha, role=PartnerMembership.Role.MANAGER, user__username="mia"
    )
    return membership.user


@pytest.fixture
def viewer(alpha):
    membership = MembershipFactory.create(
        partner=alpha, role=PartnerMembership.Role.VIEWER, user__username="vic"
    )
    return membership.user


def journey(partner, marker: str, *, live: bool) -> Onboarding:
    """An onboarding 10 minutes old; returned; with a running channel and, if `live`, its key."""
    now = timezone.now()
    client = ClientFactory.create(partner=partner, name=f"{marker} bakery")
    onboarding = OnboardingFactory.create(
        partner=partner,
        client=client,
        email=f"{marker}@client.example",
        opened_at=now - timedelta(minutes=9),
        returned_at=now - timedelta(minutes=6),
        status=Onboarding.Status.LIVE if live else Onboarding.Status.RETURNED,
        completed_at=now - timedelta(minutes=1) if live else None,
    )
    with all_partners_scope():
        Onboarding.objects.filter(pk=onboarding.pk).update(created_at=now - timedelta(minutes=10))
    channel = ChannelFactory.create(
        client=client,
        onboarding=onboarding,
        status=Channel.Status.LIVE if live else Channel.Status.RUNNING,
        status_changed_at=now - timedelta(minutes=4),
        hub_channel_id=f"{marker}Chan",
    )
    if live:
        key = ApiKeyFactory.create(channel=channel)
        with all_partners_scope():
            type(key).objects.filter(pk=key.pk).update(created_at=now - timedelta(minutes=2))
    return onboarding


def test_home_shows_the_funnel_of_the_managers_partners_only(manager, alpha, bravo):
    journey(alpha, "alpha1", live=True)
    journey(alpha, "alpha2", live=False)
    OnboardingFactory.create(partner=alpha, email="alpha3@client.example")
    for n in range(4):
        journey(bravo, f"bravo{n}", live=True)

    html = logged_in(manager).get(reverse("admin:index") + "?days=7").content.decode()

    funnel = dict(
        re.findall(
            r'<tr data-step="(\w+)">\s*<th scope="row">[^<]+</th>\s*<td class="num">(\d+)', html
        )
    )
    assert funnel == {
        "viewed": "0",
        "started": "3",
        "opened": "2",
        "returned": "2",
        "running": "2",
        "key": "1",
        "live": "1",
    }
    assert "67 %" in html  # opened of started
    assert "bravo" not in html.lower()


def test_home_lists_stuck_onboardings_and_rejected_webhooks(manager, alpha, bravo):
    stuck = journey(alpha, "alpha1", live=False)
    with all_partners_scope():
        StuckFlag.objects.create(
            partner=alpha,
            onboarding=stuck,
            reason=StuckReason.RUNNING_NO_KEY,
            detail="+49151 is running",
            since=timezone.now() - timedelta(minutes=30),
        )
        StuckFlag.objects.create(
            partner=bravo,
            onboarding=journey(bravo, "bravo1", live=False),
            reason=StuckReason.KEY_ERROR,
            since=timezone.now(),
        )
    type(alpha).objects.filter(pk=alpha.pk).update(
        webhook_rejected_count=3, webhook_rejected_at=timezone.now()
    )

    html = logged_in(manager).get(reverse("admin:index")).content.decode()

    assert "alpha1@client.example" in html
    assert "Number running without an API key" in html
    assert "3 webhook(s) rejected for a missing or wrong signature" in html
    assert "1 stuck" in html
    assert "bravo" not in html.lower()


def test_home_runs_a_fixed_number_of_queries(manager, alpha, django_assert_max_num_queries):
    http = logged_in(manager)
    journey(alpha, "first", live=True)
    http.get(reverse("admin:index"))  # session, content types: warm

    with django_assert_max_num_queries(18):
        http.get(reverse("admin:index"))
    for n in range(10):
        journey(alpha, f"more{n}", live=n % 2 == 0)
    with django_assert_max_num_queries(18):
        response = http.get(reverse("admin:index"))
    assert response.status_code == 200


def test_the_story_shows_numbers_masked_keys_and_one_timeline(manager, alpha):
    onboarding = journey(alpha, "alpha1", live=True)
    event = WebhookEventFactory.create(
        partner=alpha, hub_event_id="evt_alpha_1", dedupe_key="id:evt_alpha_1"
    )
    TimelineEntryFactory.create(
        onboarding=onboarding,
        kind="webhook",
        message="+49151: ready → running.",
        data={"event": "channel_running", "event_id": "evt_alpha_1"},
    )
    NotificationFactory.create(onboarding=onboarding, subject="Your number is ready")
    with partner_scope(alpha):
        key = onboarding.channels.get().api_keys.get()

    html = (
        logged_in(manager)
        .get(reverse("admin:clients_onboarding_change", args=[onboarding.pk]))
        .content.decode()
    )

    assert f"…{key.last4} · {key.fingerprint}" in html
    assert key.key not in html
    assert reverse("admin:webhooks_webhookevent_change", args=[event.pk]) in html
    assert "“Your number is ready” to 1 recipient(s), not sent yet" in html
    for action in ("note", "resync", "resend", "resolve", "expire"):
        assert reverse("console:onboarding_action", args=[onboarding.pk, action]) in html
    assert reverse("console:channel_key_reveal", args=[key.channel_id]) in html


def test_a_viewer_sees_the_story_without_any_action(viewer, alpha):
    onboarding = journey(alpha, "alpha1", live=True)

    html = (
        logged_in(viewer)
        .get(reverse("admin:clients_onboarding_change", args=[onboarding.pk]))
        .content.decode()
    )

    assert "alpha1Chan" in html
    assert "/admin/console/onboarding/" not in html
    assert "/admin/console/channel/" not in html
    assert "only the partner's managers can act" in html


def test_the_story_runs_a_fixed_number_of_queries(manager, alpha, django_assert_max_num_queries):
    onboarding = journey(alpha, "alpha1", live=True)
    http = logged_in(manager)
    url = reverse("admin:clients_onboarding_change", args=[onboarding.pk])
    http.get(url)

    with django_assert_max_num_queries(18):
        http.get(url)
    with all_partners_scope():
        channel = onboarding.channels.get()
    for n in range(5):
        TimelineEntryFactory.create(onboarding=onboarding, message=f"entry {n}")
        ApiKeyFactory.create(channel=channel, revoked_at=timezone.now())
        NotificationFactory.create(onboarding=onboarding)
    with django_assert_max_num_queries(18):
        assert http.get(url).status_code == 200


def test_the_audit_log_shows_only_the_users_partners_and_cannot_be_changed(manager, alpha, bravo):
    root = UserFactory.create(username="root", is_superuser=True)
    with all_partners_scope():
        audit_record(partner=alpha, action="onboarding.note", user=manager, target_label="alpha1")
        audit_record(partner=bravo, action="api_key.reveal", user=root, target_label="bravo1")
    http = logged_in(manager)

    html = http.get(reverse("admin:audit_auditentry_changelist")).content.decode()
    filtered = http.get(
        reverse("admin:audit_auditentry_changelist")
        + f"?user__id__exact={manager.pk}&action=onboarding.note"
    )
    with all_partners_scope():
        from audit.models import AuditEntry

        theirs = AuditEntry.objects.get(partner=bravo)
        ours = AuditEntry.objects.get(partner=alpha)

    assert "alpha1" in html
    assert "bravo" not in html.lower()
    assert filtered.status_code == 200
    assert "alpha1" in filtered.content.decode()
    assert http.get(reverse("admin:audit_auditentry_change", args=[theirs.pk])).status_code in (
        302,
        404,
    )
    detail = http.get(reverse("admin:audit_auditentry_change", args=[ours.pk])).content.decode()
    assert 'name="_save"' not in detail
    assert http.post(reverse("admin:audit_auditentry_delete", args=[ours.pk])).status_code == 403
    assert (
        "bravo1"
        in logged_in(root).get(reverse("admin:audit_auditentry_changelist")).content.decode()
    )
