"""The public pages against hostile input: no NUL byte or odd token reaches a query."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from clients.models import Onboarding
from portal.models import Partner
from portal.tenancy import partner_scope
from portal.tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner() -> Partner:
    return PartnerFactory.create(slug="acme", hub_url="https://hub.example")


@pytest.mark.parametrize("invite", ["%00", "abc%00def", "a" * 200, "../../etc", "%F0%9F%98%80"])
def test_an_invite_that_is_not_token_shaped_is_ignored(partner, invite):
    response = HttpClient().get(f"/p/acme/?invite={invite}")

    assert response.status_code == 200
    assert 'name="invite"' not in response.content.decode() or 'value="' + invite not in (
        response.content.decode()
    )


def test_a_signup_posting_a_nul_invite_is_refused_without_a_query(partner):
    response = HttpClient().post("/p/acme/", {"email": "ada@example.com", "invite": "\x00"})

    assert response.status_code == 200  # the form again: its fields refuse NUL characters
    with partner_scope(partner):
        assert not Onboarding.objects.exists()


@pytest.mark.parametrize("token", ["%00", "a%00b", "x" * 300])
def test_a_webhook_url_with_a_token_that_is_not_token_shaped_is_404(partner, token):
    response = HttpClient().post(
        f"/webhooks/360dialog/{token}/", b"{}", content_type="application/json"
    )

    assert response.status_code == 404


@pytest.mark.parametrize("token", ["%00", "a%00b"])
def test_a_return_with_a_nul_token_is_refused(partner, token):
    response = HttpClient().get(f"/p/acme/r/{token}/?client=c1&channels=[a1]")

    assert response.status_code == 400
    assert "This link is not valid" in response.content.decode()
    with partner_scope(partner):
        assert not Onboarding.objects.exists()
