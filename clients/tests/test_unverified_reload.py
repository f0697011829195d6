"""A return without our token, reloaded after the Partner API checked it: the same onboarding,
no second check."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from channels.reconcile import onboarding_check
from clients.models import Onboarding, TimelineEntry
from conftest import SIM_PARTNER_ID
from portal.tenancy import partner_scope

pytestmark = pytest.mark.django_db


def test_a_token_less_return_reloaded_after_its_check_is_not_a_new_one(
    connect_partner, hubsim, django_capture_on_commit_callbacks
):
    hubsim.faults(drop_events=["*"])
    partner = connect_partner(slug="acme")
    onboarded = hubsim.onboard(
        partner_id=SIM_PARTNER_ID, email="ada@acme.example", name="Ada", numbers=["4915112345678"]
    )
    hubsim.wait_idle()
    url = f"/p/acme/r/?client={onboarded['client_id']}&channels=[{onboarded['channel_ids'][0]}]"
    browser = HttpClient()
    assert browser.get(url).status_code == 200
    with partner_scope(partner):
        onboarding_check(partner=partner, onboarding_id=Onboarding.objects.get().pk)
        checked = list(TimelineEntry.objects.values_list("kind", "message"))

    with django_capture_on_commit_callbacks() as callbacks:
        again = browser.get(url)

    assert again.status_code == 200
    assert callbacks == []
    with partner_scope(partner):
        assert Onboarding.objects.count() == 1
        assert list(TimelineEntry.objects.values_list("kind", "message")) == checked
