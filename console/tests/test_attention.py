"""What needs attention beyond stuck flags: a failed webhook about a number makes its
onboarding stuck (and the flag clears once the event is replayed), reconciliation's
corrections and keys 360Dialog held that the portal never stored are counted on the home page
for the last 24 hours, each partner's own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from channels.models import Channel
from channels.tests.factories import ChannelFactory
from clients.models import Onboarding, TimelineEntry
from clients.tests.factories import OnboardingFactory, TimelineEntryFactory
from console.models import StuckFlag, StuckReason
from console.services import stuck_flags_update
from portal.models import PartnerMembership
from portal.tenancy import all_partners_scope, partner_scope
from portal.tests.factories import MembershipFactory, PartnerFactory
from webhooks.models import WebhookEvent
from webhooks.tests.factories import WebhookEventFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alpha():
    return PartnerFactory.create(slug="alpha", name="Alpha Hub")


@pytest.fixture
def bravo():
    return PartnerFactory.create(slug="bravo", name="Bravo Hub")


def with_number(partner, hub_channel_id: str) -> Onboarding:
    """Returned 5 minutes ago, its number created then: nothing is late yet."""
    onboarding = OnboardingFactory.create(
        partner=partner,
        email=f"{hub_channel_id}@bakery.example",
        status=Onboarding.Status.RETURNED,
        returned_at=timezone.now() - timedelta(minutes=5),
    )
    ChannelFactory.create(
        client__partner=partner,
        onboarding=onboarding,
        hub_channel_id=hub_channel_id,
        status=Channel.Status.SUBMITTED,
    )
    return onboarding


def failed_event(partner, hub_channel_id: str, *, minutes_ago: int) -> WebhookEvent:
    event = WebhookEventFactory.create(
        partner=partner,
        event_type="channel_ready",
        payload={"event": "channel_ready", "data": {"id": hub_channel_id}},
        status=WebhookEvent.Status.FAILED,
        last_error="boom",
    )
    with all_partners_scope():
        WebhookEvent.objects.filter(pk=event.pk).update(
            received_at=timezone.now() - timedelta(minutes=minutes_ago)
        )
        event.refresh_from_db()
    return event


def flags(partner):
    with partner_scope(partner):
        return list(
            StuckFlag.objects.order_by("pk").values_list("onboarding__email", "reason", "since")
        )


def scan(partner):
    with partner_scope(partner):
        return stuck_flags_update(partner=partner)


def test_a_failed_webhook_about_a_number_makes_its_onboarding_stuck_until_it_is_replayed(
    alpha, bravo
):
    with_number(alpha, "chA")
    with_number(alpha, "chFine")
    with_number(bravo, "chA")
    older = failed_event(alpha, "chA", minutes_ago=20)
    failed_event(alpha, "chA", minutes_ago=3)
    failed_event(alpha, "chGone", minutes_ago=3)  # a number the portal does not have

    scan(alpha)
    scan(bravo)

    assert flags(alpha) == [("chA@bakery.example", StuckReason.WEBHOOK_FAILED, older.received_at)]
    assert flags(bravo) == []
    with partner_scope(alpha):
        detail = StuckFlag.objects.get().detail
        WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED).update(
            status=WebhookEvent.Status.PROCESSED
        )
    assert detail.endswith(
        ": a webhook event about it failed; replay it from Webhook events once the cause is fixed"
    )

    result = scan(alpha)

    assert (result.flagged, result.cleared) == (0, 1)
    assert flags(alpha) == []


def test_home_counts_corrections_and_keys_360dialog_held_that_were_not_stored(alpha, bravo):
    ours = OnboardingFactory.create(partner=alpha)
    theirs = OnboardingFactory.create(partner=bravo)
    for _ in range(2):
        TimelineEntryFactory.create(onboarding=ours, kind=TimelineEntry.Kind.CORRECTION)
    old = TimelineEntryFactory.create(onboarding=ours, kind=TimelineEntry.Kind.CORRECTION)
    with all_partners_scope():
        TimelineEntry.objects.filter(pk=old.pk).update(
            created_at=timezone.now() - timedelta(hours=25)
        )
    TimelineEntryFactory.create(
        onboarding=ours, kind=TimelineEntry.Kind.API_KEY, data={"hub_key_ids": ["k9"]}
    )
    TimelineEntryFactory.create(
        onboarding=ours, kind=TimelineEntry.Kind.API_KEY, data={"fingerprint": "abc"}
    )
    TimelineEntryFactory.create(onboarding=theirs, kind=TimelineEntry.Kind.CORRECTION)
    TimelineEntryFactory.create(
        onboarding=theirs, kind=TimelineEntry.Kind.API_KEY, data={"hub_key_ids": ["k8"]}
    )
    membership = MembershipFactory.create(
        partner=alpha, role=PartnerMembership.Role.VIEWER, user__username="vic"
    )
    http = HttpClient()
    http.force_login(membership.user)

    html = http.get(reverse("admin:index")).content.decode()

    assert "2 reconciliation correction(s) in 24 h" in html
    assert "1 number(s) in 24 h whose key at 360Dialog was not the stored one" in html
