"""The public pages are rate-limited per client address and per partner (counters in Redis);
token-less returns cannot be used to make rows and Partner API calls in bulk; unverified
returns expire and stay out of the admin's default list."""

from __future__ import annotations

import re
import threading
import uuid
from datetime import timedelta

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client as HttpClient
from django.utils import timezone

from clients.models import Onboarding, TimelineEntry
from clients.services import onboardings_expire
from clients.tasks import expire_onboardings
from clients.tests.factories import OnboardingFactory
from portal.models import Partner
from portal.tenancy import all_partners_scope, partner_scope
from portal.tests.factories import MembershipFactory, PartnerFactory

pytestmark = pytest.mark.django_db
A, B, C = "198.51.100.1", "198.51.100.2", "198.51.100.3"


@pytest.fixture
def limits(settings):
    """Limits on (the suite switches them off), with no counter left from earlier tests."""
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    for key in client.scan_iter(match="*ratelimit:*"):
        client.delete(key)
    settings.RATE_LIMITS_ENABLED = True

    def set_limits(**rates: str) -> None:
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, **rates}

    return set_limits


@pytest.fixture
def partner() -> Partner:
    return PartnerFactory.create(slug="acme", hub_url="https://hub.example")


def sign_up(address: str, http: HttpClient | None = None):
    return (http or HttpClient()).post(
        "/p/acme/", {"email": "ada@example.com"}, REMOTE_ADDR=address
    )


def onboardings(partner: Partner) -> int:
    with partner_scope(partner):
        return Onboarding.objects.count()


def test_signups_are_limited_per_address(partner, limits):
    limits(signup_ip="3/600")

    answers = [sign_up(A) for _ in range(4)]

    assert [a.status_code for a in answers] == [302, 302, 302, 429]
    refused = answers[-1]
    assert 1 <= int(refused["Retry-After"]) <= 600
    assert "Too many requests from your connection" in refused.content.decode()
    assert onboardings(partner) == 3
    assert sign_up(B).status_code == 302  # another address is not affected
    assert HttpClient().get("/p/acme/", REMOTE_ADDR=A).status_code == 200  # only posts count


def test_one_address_cannot_use_up_the_partners_allowance(partner, limits):
    limits(signup_ip="2/600", signup_partner="5/600")

    from_a = [sign_up(A).status_code for _ in range(10)]
    from_b = [sign_up(B).status_code for _ in range(2)]
    from_c = [sign_up(C).status_code for _ in range(2)]

    assert from_a == [302, 302] + [429] * 8
    assert from_b == [302, 302]
    assert from_c == [302, 429]  # the partner's five are used up
    assert onboardings(partner) == 5


def test_token_less_returns_cannot_make_onboardings_in_bulk(
    partner, limits, django_capture_on_commit_callbacks
):
    limits(return_ip="5/600")

    with django_capture_on_commit_callbacks() as checks:
        answers = [
            HttpClient().get(f"/p/acme/r/?client=c{n}x&channels=[z{n}]", REMOTE_ADDR=A).status_code
            for n in range(20)
        ]

    assert answers == [200] * 5 + [429] * 15
    assert onboardings(partner) == 5
    # Each accepted return queues its Partner API check after commit; the refused ones queue
    # nothing.
    assert len(checks) == 5
    with partner_scope(partner):
        assert TimelineEntry.objects.filter(kind=TimelineEntry.Kind.RETURNED).count() == 5


def test_launch_and_status_are_limited(partner, limits):
    limits(launch_ip="2/600", status_ip="3/600")
    http = HttpClient(REMOTE_ADDR=A)
    assert sign_up(A, http).status_code == 302
    with partner_scope(partner):
        onboarding = Onboarding.objects.get()
    base = f"/p/acme/o/{onboarding.public_id}/"

    launches = [http.post(f"{base}launch/").status_code for _ in range(3)]
    polls = [http.get(f"{base}status.json") for _ in range(4)]

    assert launches == [302, 302, 429]
    assert [p.status_code for p in polls] == [200, 200, 200, 429]
    assert polls[-1].json()["error"] == "too many requests"
    assert int(polls[-1]["Retry-After"]) >= 1


def test_a_whole_onboarding_stays_within_the_default_limits(partner, limits):
    http = HttpClient(REMOTE_ADDR=A)
    assert http.get("/p/acme/").status_code == 200
    assert sign_up(A, http).status_code == 302
    with partner_scope(partner):
        onboarding = Onboarding.objects.get()
    base = f"/p/acme/o/{onboarding.public_id}/"
    assert http.post(f"{base}launch/").status_code == 302
    location = http.post(f"{base}launch/")["Location"]  # "Try again"
    token = re.search(r"%2Fr%2F([^%]+)%2F", location).group(1)  # type: ignore[union-attr]

    assert http.get(f"/p/acme/r/{token}/?client=c1x&channels=[a1]").status_code == 200
    # Ten minutes of the page polling every three seconds.
    assert {http.get(f"{base}status.json").status_code for _ in range(200)} == {200}


@pytest.mark.django_db(transaction=True)
def test_identical_returns_arriving_together_make_one_onboarding_and_one_check():
    partner = PartnerFactory.create(slug="acme", hub_url="https://hub.example")
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def reload() -> None:
        try:
            barrier.wait()
            response = HttpClient().get("/p/acme/r/?client=same1&channels=[ch1]")
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=reload) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # The first to record it is answered 200; the others find it returned already, and are
    # refused unless they came before it (another browser may not reopen a return URL).
    assert len(statuses) == 8 and 200 in statuses and set(statuses) <= {200, 400}
    with partner_scope(partner):
        assert Onboarding.objects.count() == 1
        assert TimelineEntry.objects.filter(kind=TimelineEntry.Kind.RETURNED).count() == 1


def test_unconfirmed_returns_and_abandoned_signups_expire(partner):
    now = timezone.now()
    unconfirmed = OnboardingFactory.create(
        partner=partner, verified=False, status=Onboarding.Status.RETURNED
    )
    recent = OnboardingFactory.create(
        partner=partner, verified=False, status=Onboarding.Status.RETURNED
    )
    abandoned = OnboardingFactory.create(
        partner=partner, status=Onboarding.Status.OPENED, expires_at=now - timedelta(minutes=1)
    )
    returned = OnboardingFactory.create(
        partner=partner, status=Onboarding.Status.RETURNED, expires_at=now - timedelta(minutes=1)
    )
    with partner_scope(partner):
        Onboarding.objects.filter(pk=unconfirmed.pk).update(created_at=now - timedelta(hours=25))

    with all_partners_scope():
        count = onboardings_expire(now=now)
        statuses = dict(Onboarding.objects.values_list("pk", "status"))
        timeline = list(
            TimelineEntry.objects.filter(kind=TimelineEntry.Kind.STATUS).values_list(
                "onboarding_id", "message"
            )
        )

    assert count == 2
    assert statuses == {
        unconfirmed.pk: "expired",
        recent.pk: "returned",
        abandoned.pk: "expired",
        returned.pk: "returned",  # verified: webhooks and reconciliation carry it on
    }
    assert sorted(timeline) == sorted(
        [
            (unconfirmed.pk, "Expired: the Partner API never confirmed this return."),
            (abandoned.pk, "Expired: never brought back from 360Dialog."),
        ]
    )
    assert expire_onboardings.name == "clients.expire_onboardings"
    assert {entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()} >= {
        "clients.expire_onboardings"
    }


def test_the_admin_list_leaves_out_unverified_returns_by_default(partner):
    verified = OnboardingFactory.create(partner=partner, email="real@client.example")
    junk = OnboardingFactory.create(partner=partner, verified=False, email=f"{uuid.uuid4()}@x.ex")
    http = HttpClient()
    http.force_login(MembershipFactory.create(partner=partner).user)

    default = http.get("/admin/clients/onboarding/").content.decode()
    only_junk = http.get("/admin/clients/onboarding/?shown=unverified").content.decode()
    everything = http.get("/admin/clients/onboarding/?shown=all").content.decode()

    assert verified.email in default and junk.email not in default
    assert verified.email not in only_junk and junk.email in only_junk
    assert verified.email in everything and junk.email in everything
