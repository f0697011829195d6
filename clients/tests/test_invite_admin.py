"""Account managers make and revoke invite links in the admin, for their own partners only."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.test import Client as HttpClient
from django.utils import timezone

from clients.models import Invite
from portal.models import PartnerMembership
from portal.tenancy import all_partners_scope
from portal.tests.factories import MembershipFactory, PartnerFactory

pytestmark = pytest.mark.django_db
ADD = "/admin/clients/invite/add/"


def logged_in(role, partner) -> HttpClient:
    http = HttpClient()
    http.force_login(MembershipFactory.create(partner=partner, role=role).user)
    return http


def form(partner, **values) -> dict[str, str]:
    expires = timezone.now() + timedelta(days=3)
    return {
        "partner": str(partner.pk),
        "email": "bea@example.com",
        "contact_name": "Bea",
        "phone_number": "+49 151 000 0000",
        "partner_payload": "crm-42",
        "expires_at_0": expires.strftime("%Y-%m-%d"),
        "expires_at_1": expires.strftime("%H:%M:%S"),
        **values,
    }


def test_a_manager_makes_an_invite_with_a_link_to_send():
    partner = PartnerFactory.create(slug="acme")
    http = logged_in(PartnerMembership.Role.MANAGER, partner)

    response = http.post(ADD, form(partner))

    assert response.status_code == 200, response.content.decode()[-2000:]
    assert "no-store" in response["Cache-Control"]
    [link] = re.findall(r'<code class="invite-link">([^<]+)</code>', response.content.decode())
    assert link.startswith("https://portal.test/p/acme/?invite=")
    token = link.rsplit("=", 1)[1]
    assert len(token) == 32
    with all_partners_scope():
        invite = Invite.objects.get()
    assert (invite.partner, invite.phone_number, invite.partner_payload) == (
        partner,
        "491510000000",
        "crm-42",
    )
    # Only the hash is stored, and the link is never shown again.
    assert invite.token_hash == hashlib.sha256(token.encode()).hexdigest()
    page = http.get(f"/admin/clients/invite/{invite.pk}/change/").content.decode()
    assert token not in page
    assert "Shown once, when the invite was made" in page
    # The link works.
    signup = HttpClient().get(link.removeprefix("https://portal.test"))
    assert 'value="bea@example.com"' in signup.content.decode()


def test_a_manager_cannot_make_one_for_another_partner():
    partner, other = PartnerFactory.create(), PartnerFactory.create()
    http = logged_in(PartnerMembership.Role.MANAGER, partner)

    response = http.post(ADD, form(other))

    assert response.status_code == 200  # the form, with the choice refused
    assert "Select a valid choice" in response.content.decode()
    with all_partners_scope():
        assert Invite.objects.count() == 0


def test_a_viewer_cannot_make_invites():
    partner = PartnerFactory.create()

    assert logged_in(PartnerMembership.Role.VIEWER, partner).get(ADD).status_code == 403


def test_revoking_invites():
    partner = PartnerFactory.create()
    invite = Invite.objects.create(
        partner=partner,
        token_hash=hashlib.sha256(b"t1").hexdigest(),
        expires_at=timezone.now() + timedelta(days=1),
    )
    http = logged_in(PartnerMembership.Role.MANAGER, partner)

    http.post(
        "/admin/clients/invite/",
        {"action": "revoke", "_selected_action": [str(invite.pk)]},
    )

    with all_partners_scope():
        invite.refresh_from_db()
    assert invite.revoked_at is not None
