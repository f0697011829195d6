"""An onboarding holds a return token's hash only once a launch has minted a token; stand-ins
and returns without our token hold none, and no token ever finds them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client as HttpClient
from django.utils import timezone

from channels.linking import onboarding_for_client
from clients.models import Onboarding
from clients.onboarding import ReturnError, onboarding_return
from clients.tests.factories import ClientFactory, OnboardingFactory
from dialog360.redirect import parse_redirect
from portal.tenancy import partner_scope
from portal.tests.factories import PartnerFactory
from portal.tokens import token_hash

pytestmark = pytest.mark.django_db


def test_a_signup_holds_no_return_token_until_it_is_launched():
    partner = PartnerFactory.create(slug="acme", hub_url="https://hub.example")
    http = HttpClient()
    response = http.post("/p/acme/", {"email": "ada@example.com", "contact_name": "Ada"})
    public_id = response["Location"].rstrip("/").split("/")[-1]
    with partner_scope(partner):
        assert Onboarding.objects.get(public_id=public_id).return_token_hash is None

        http.post(f"/p/acme/o/{public_id}/launch/")

        assert len(Onboarding.objects.get(public_id=public_id).return_token_hash or "") == 64


def test_stand_ins_and_unverified_returns_hold_no_return_token():
    partner = PartnerFactory.create(slug="acme")
    assert HttpClient().get("/p/acme/r/?client=c9&channels=[z9]").status_code == 200
    with partner_scope(partner):
        stand_in = onboarding_for_client(client=ClientFactory.create(partner=partner))
        another = onboarding_for_client(client=ClientFactory.create(partner=partner))

        assert list(Onboarding.objects.values_list("started_by_webhook", "return_token_hash")) == [
            (True, None),
            (True, None),
            (False, None),
        ]
        assert stand_in.pk != another.pk  # NULLs do not collide under the unique constraint


def test_no_token_finds_an_onboarding_without_one():
    partner = PartnerFactory.create(slug="acme")
    with partner_scope(partner):
        held = OnboardingFactory.create(partner=partner, return_token_hash=None)
        for token in ("", "None", "null"):
            with pytest.raises(ReturnError):
                onboarding_return(
                    partner=partner, token=token, redirect=parse_redirect("client=c1&channels=[z1]")
                )
        held.refresh_from_db()
        assert (held.returned_at, held.return_data, held.status) == (None, {}, "started")


@pytest.mark.django_db(transaction=True)
def test_the_migration_forgets_the_hashes_no_launch_ever_handed_out():
    partner = PartnerFactory.create()
    executor = MigrationExecutor(connection)
    executor.migrate([("clients", "0009_notification_html_body")])
    old = executor.loader.project_state([("clients", "0009_notification_html_body")]).apps
    onboarding = old.get_model("clients", "Onboarding")
    now = timezone.now()
    never_launched = onboarding.objects.create(
        partner_id=partner.pk, return_token_hash=token_hash("a"), expires_at=now
    )
    stand_in = onboarding.objects.create(
        partner_id=partner.pk,
        return_token_hash=token_hash("b"),
        expires_at=now,
        started_by_webhook=True,
    )
    launched = onboarding.objects.create(
        partner_id=partner.pk, return_token_hash=token_hash("c"), expires_at=now, opened_at=now
    )

    executor = MigrationExecutor(connection)
    executor.migrate([("clients", "0010_onboarding_return_token_hash_null_until_launch")])
    new = executor.loader.project_state(
        [("clients", "0010_onboarding_return_token_hash_null_until_launch")]
    ).apps
    hashes = dict(
        new.get_model("clients", "Onboarding").objects.values_list("pk", "return_token_hash")
    )

    assert hashes == {never_launched.pk: None, stand_in.pk: None, launched.pk: token_hash("c")}
    MigrationExecutor(connection).migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
