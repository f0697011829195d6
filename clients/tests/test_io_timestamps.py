"""Every launch gets an IO signature 360Dialog has not seen: two clients launching in the same
second would otherwise share one ("<partner id>|<unix seconds>" is what is signed), and the hub
takes each signature only once."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from django.test import Client as HttpClient

from clients.models import Onboarding
from conftest import SIM_PARTNER_ID
from portal.models import Partner
from portal.services import partner_io_timestamp_claim
from portal.tenancy import partner_scope
from portal.tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def test_a_second_is_claimed_once_and_bursts_run_ahead():
    partner = PartnerFactory.create()

    claimed = [partner_io_timestamp_claim(partner=partner, now=1_800_000_000.7) for _ in range(3)]
    later = partner_io_timestamp_claim(partner=partner, now=1_800_000_100.2)

    assert claimed == [1_800_000_000, 1_800_000_001, 1_800_000_002]
    assert later == 1_800_000_100
    assert Partner.objects.get(pk=partner.pk).io_last_timestamp == 1_800_000_100


def test_clients_launching_together_each_get_a_signature_the_hub_accepts(connect_partner, hubsim):
    partner = connect_partner(io_signature_enabled=True)
    hubsim.partner(partner_id=SIM_PARTNER_ID, require_io_signature=True)
    links = []
    for n in range(5):  # back to back: well within one or two seconds
        browser = HttpClient()
        started = browser.post(
            f"/p/{partner.slug}/", {"email": f"client{n}@example.com", "contact_name": f"C{n}"}
        )
        public_id = started["Location"].rstrip("/").split("/")[-1]
        with partner_scope(partner):
            onboarding = Onboarding.objects.get(public_id=public_id)
        launched = browser.post(f"/p/{partner.slug}/o/{onboarding.public_id}/launch/")
        links.append(launched["Location"])

    timestamps = [dict(parse_qsl(urlsplit(link).query))["io_timestamp"] for link in links]
    answers = [httpx.get(link, timeout=10).status_code for link in links]

    assert len(set(timestamps)) == 5
    assert answers == [200] * 5  # the permission page opened for every one of them
