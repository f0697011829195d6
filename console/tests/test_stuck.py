"""Stuck onboardings: flagged with why and since when, cleared when they move, one digest per
partner to its managers; thresholds from the settings, or the partner's own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from channels.models import Channel
from channels.tests.factories import ApiKeyFactory, ChannelFactory
from clients.models import Onboarding, TimelineEntry
from clients.tests.factories import OnboardingFactory
from console.models import StuckFlag, StuckReason, StuckThresholds
from console.services import stuck_flags_update
from console.tasks import flag_stuck_onboardings
from portal.models import Partner, PartnerMembership
from portal.tenancy import all_partners_scope, partner_scope
from portal.tests.factories import MembershipFactory, PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alpha():
    partner = PartnerFactory.create(slug="alpha", name="Alpha Hub")
    MembershipFactory.create(
        partner=partner, role=PartnerMembership.Role.MANAGER, user__username="mia"
    )
    MembershipFactory.create(
        partner=partner, role=PartnerMembership.Role.VIEWER, user__username="vic"
    )
    return partner


@pytest.fixture
def bravo():
    partner = PartnerFactory.create(slug="bravo", name="Bravo Hub")
    MembershipFactory.create(
        partner=partner, role=PartnerMembership.Role.MANAGER, user__username="bob"
    )
    return partner


def returned(partner, *, minutes_ago: int, email: str = "ada@bakery.example") -> Onboarding:
    return OnboardingFactory.create(
        partner=partner,
        email=email,
        status=Onboarding.Status.RETURNED,
        returned_at=timezone.now() - timedelta(minutes=minutes_ago),
        return_data={"client": "cl_ada", "channels": [], "revoked": []},
    )


def flags(partner):
    with partner_scope(partner):
        return list(StuckFlag.objects.order_by("pk").values_list("onboarding__email", "reason"))


def scan(partner):
    with partner_scope(partner):
        return stuck_flags_update(partner=partner)


def test_a_return_without_a_number_is_stuck_after_30_minutes(alpha):
    fresh = returned(alpha, minutes_ago=20, email="fresh@bakery.example")
    old = returned(alpha, minutes_ago=31, email="old@bakery.example")

    result = scan(alpha)

    assert (result.flagged, result.cleared) == (1, 0)
    assert flags(alpha) == [("old@bakery.example", StuckReason.RETURNED_NO_CHANNEL)]
    with partner_scope(alpha):
        flag = StuckFlag.objects.get()
        fresh_notes = TimelineEntry.objects.filter(onboarding=fresh).count()
        [note] = TimelineEntry.objects.filter(onboarding=old).values_list("message", flat=True)
    assert flag.since == old.returned_at
    assert fresh_notes == 0
    assert note == "Stuck: Returned, but no number arrived (client cl_ada)."


def test_a_flag_stays_while_it_is_stuck_and_clears_when_it_moves(alpha):
    onboarding = returned(alpha, minutes_ago=45)
    scan(alpha)
    assert scan(alpha).still == 1
    channel = ChannelFactory.create(
        client__partner=alpha,
        onboarding=onboarding,
        status=Channel.Status.RUNNING,
        status_changed_at=timezone.now(),
    )
    ApiKeyFactory.create(channel=channel)

    result = scan(alpha)

    assert (result.flagged, result.cleared) == (0, 1)
    assert flags(alpha) == []
    with partner_scope(alpha):
        last = TimelineEntry.objects.filter(onboarding=onboarding).order_by("pk").last()
    assert last is not None
    assert last.message == "No longer stuck: it moved on."


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ({"status": "running", "minutes": 11}, StuckReason.RUNNING_NO_KEY),
        ({"status": "submitted", "minutes": 24 * 60 + 1}, StuckReason.CHANNEL_NOT_RUNNING),
        ({"status": "running", "minutes": 0, "error": "400 bad"}, StuckReason.KEY_ERROR),
        ({"status": "ready", "minutes": 0, "cancelled": True}, StuckReason.CANCELLED),
        (
            {"status": "running", "minutes": 24 * 60 + 1, "direct": True},
            StuckReason.PERMISSION_MISSING,
        ),
    ],
)
def test_each_reason(alpha, setup, reason):
    if setup.get("direct"):
        Partner.objects.filter(pk=alpha.pk).update(payment_mode=Partner.PaymentMode.DIRECT)
        alpha.refresh_from_db()
    onboarding = returned(alpha, minutes_ago=setup["minutes"])
    since = timezone.now() - timedelta(minutes=setup["minutes"])
    channel = ChannelFactory.create(
        client__partner=alpha,
        onboarding=onboarding,
        status=setup["status"],
        status_changed_at=since,
        api_key_error=setup.get("error", ""),
        api_key_error_at=timezone.now() if setup.get("error") else None,
        cancelled_at=timezone.now() if setup.get("cancelled") else None,
    )
    with all_partners_scope():
        Channel.objects.filter(pk=channel.pk).update(created_at=since)

    scan(alpha)

    assert flags(alpha) == [("ada@bakery.example", reason)]


def test_nothing_is_stuck_just_before_its_threshold(alpha):
    onboarding = returned(alpha, minutes_ago=9)
    ChannelFactory.create(
        client__partner=alpha,
        onboarding=onboarding,
        status=Channel.Status.RUNNING,
        status_changed_at=timezone.now() - timedelta(minutes=9),
    )

    scan(alpha)

    assert flags(alpha) == []


def test_a_partner_sets_its_own_threshold(alpha):
    returned(alpha, minutes_ago=60)
    StuckThresholds.objects.create(partner=alpha, returned_no_channel=90)

    scan(alpha)

    assert flags(alpha) == []


def test_the_beat_task_mails_one_digest_per_partner_to_its_managers_once(alpha, bravo, mailoutbox):
    returned(alpha, minutes_ago=40, email="one@alpha.example")
    returned(alpha, minutes_ago=50, email="two@alpha.example")
    returned(bravo, minutes_ago=40, email="one@bravo.example")

    first = flag_stuck_onboardings()
    second = flag_stuck_onboardings()

    assert first == {"flagged": 3, "cleared": 0, "mailed": 3}
    assert second == {"flagged": 0, "cleared": 0, "mailed": 0}
    by_subject = {mail.subject: mail for mail in mailoutbox}
    assert sorted(by_subject) == [
        "Alpha Hub: 2 onboarding(s) stuck",
        "Bravo Hub: 1 onboarding(s) stuck",
    ]
    alpha_mail = by_subject["Alpha Hub: 2 onboarding(s) stuck"]
    assert alpha_mail.to == ["mia@staff.example"]
    assert "two@alpha.example" in alpha_mail.body
    assert "one@alpha.example" in alpha_mail.body
    assert "bravo" not in alpha_mail.body
    assert by_subject["Bravo Hub: 1 onboarding(s) stuck"].to == ["bob@staff.example"]


def test_scanning_one_partner_leaves_the_other_alone(alpha, bravo):
    returned(alpha, minutes_ago=40, email="one@alpha.example")
    returned(bravo, minutes_ago=40, email="one@bravo.example")

    scan(alpha)

    assert flags(alpha) == [("one@alpha.example", StuckReason.RETURNED_NO_CHANNEL)]
    assert flags(bravo) == []


def test_unverified_live_and_expired_onboardings_are_never_stuck(alpha):
    for status, verified in (("returned", False), ("live", True), ("expired", True)):
        OnboardingFactory.create(
            partner=alpha,
            status=status,
            verified=verified,
            returned_at=timezone.now() - timedelta(days=3),
        )

    scan(alpha)

    assert flags(alpha) == []
