from __future__ import annotations

import asyncio

import pytest
from django.apps import apps
from django.db import models
from django.db.models import Count

from clients.models import Client
from clients.tests.factories import ClientFactory
from portal.models import Partner, PartnerMembership, TenantModel
from portal.tenancy import (
    ScopeError,
    TenantManager,
    all_partners_scope,
    partner_scope,
    partners_scope,
)
from portal.tests.factories import PartnerFactory


@pytest.fixture
def two_partners_with_clients(db):
    alpha, bravo = PartnerFactory.create(slug="alpha"), PartnerFactory.create(slug="bravo")
    ClientFactory.create(partner=alpha, name="Alpha Bakery")
    ClientFactory.create(partner=bravo, name="Bravo Bakery")
    return alpha, bravo


def tenant_models() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if issubclass(m, TenantModel)]


def test_every_model_with_a_partner_column_is_a_tenant_model_with_the_tenant_manager():
    with_partner = {
        m for m in apps.get_models() if any(f.name == "partner" for f in m._meta.fields)
    } - {PartnerMembership}

    assert with_partner == set(tenant_models())
    assert {m._meta.label for m in with_partner} == {
        "clients.Client",
        "clients.Onboarding",
        "clients.TimelineEntry",
        "clients.Notification",
        "clients.Invite",
        "channels.Channel",
        "channels.ApiKey",
        "channels.PartnerApiCall",
        "webhooks.WebhookEvent",
        "console.StuckFlag",
        "console.StuckThresholds",
        "console.PageEvent",
        "audit.AuditEntry",
        "api.ApiToken",
        "events.DomainEvent",
        "outbound.Endpoint",
        "outbound.Delivery",
    }
    for model in with_partner:
        assert isinstance(model._default_manager, TenantManager), model


WAYS_TO_RUN_A_QUERY = {
    "list": lambda qs: list(qs),
    "iterate": lambda qs: next(iter(qs)),
    "len": lambda qs: len(qs),
    "bool": lambda qs: bool(qs),
    "index": lambda qs: qs[0],
    "get": lambda qs: qs.get(pk=1),
    "first": lambda qs: qs.first(),
    "last": lambda qs: qs.last(),
    "exists": lambda qs: qs.exists(),
    "exclude().exists": lambda qs: qs.exclude(pk=0).exists(),
    "count": lambda qs: qs.count(),
    "aggregate": lambda qs: qs.aggregate(n=Count("pk")),
    "values_list": lambda qs: list(qs.values_list("pk", flat=True)),
    "iterator": lambda qs: list(qs.iterator()),
    "in_bulk": lambda qs: qs.in_bulk(),
    "contains": lambda qs: qs.contains(qs.model(pk=1)),
    "explain": lambda qs: qs.explain(),
    "update": lambda qs: qs.update(partner_id=1),
    "delete": lambda qs: qs.delete(),
    "get_or_create": lambda qs: qs.get_or_create(pk=1),
    "select_for_update": lambda qs: list(qs.select_for_update()),
    "subquery": lambda qs: list(Partner.objects.filter(pk__in=qs.values("partner_id"))),
    "aexists": lambda qs: asyncio.run(qs.aexists()),
    "acount": lambda qs: asyncio.run(qs.acount()),
    "aiterator": lambda qs: asyncio.run(anext(qs.aiterator())),
}


@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m._meta.label)
@pytest.mark.parametrize("way", WAYS_TO_RUN_A_QUERY)
def test_outside_a_scope_no_way_of_running_a_tenant_query_works(
    two_partners_with_clients, model, way
):
    run = WAYS_TO_RUN_A_QUERY[way]

    with pytest.raises(ScopeError):
        run(model.objects.all())


def test_outside_a_scope_rows_can_still_be_created_for_a_named_partner(two_partners_with_clients):
    alpha, _ = two_partners_with_clients

    Client.objects.create(partner=alpha, hub_client_id="new1", name="New")

    with partner_scope(alpha):
        assert Client.objects.filter(hub_client_id="new1").count() == 1


def test_a_partner_scope_sees_only_that_partners_rows(two_partners_with_clients):
    alpha, _ = two_partners_with_clients

    with partner_scope(alpha):
        names = list(Client.objects.values_list("name", flat=True))
        hidden = Client.objects.filter(name="Bravo Bakery").exists()

    assert names == ["Alpha Bakery"]
    assert hidden is False


def test_a_scope_for_no_partner_is_refused_rather_than_widened(two_partners_with_clients):
    with pytest.raises(ScopeError), partner_scope(None):  # type: ignore[arg-type]
        pass


def test_a_scope_over_no_partners_sees_nothing(two_partners_with_clients):
    with partners_scope([]):
        assert list(Client.objects.all()) == []


def test_a_scope_over_several_partners_and_the_all_partners_scope(two_partners_with_clients):
    alpha, bravo = two_partners_with_clients

    with partners_scope([alpha.pk, bravo.pk]):
        both = sorted(Client.objects.values_list("name", flat=True))
    with all_partners_scope():
        everything = sorted(Client.objects.values_list("name", flat=True))

    assert both == everything == ["Alpha Bakery", "Bravo Bakery"]


@pytest.mark.django_db
def test_signup_page_resolves_the_partner_from_the_slug_and_shows_its_branding(client):
    PartnerFactory.create(
        slug="acme",
        name="Acme Telecom",
        headline="WhatsApp for your shop",
        support_email="help@acme.example",
        primary_colour="#aa0000",
    )
    PartnerFactory.create(slug="other", name="Other Telecom")

    response = client.get("/p/acme/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Acme Telecom" in html
    assert "WhatsApp for your shop" in html
    assert "help@acme.example" in html
    assert "--primary: #aa0000" in html
    assert "Other Telecom" not in html


@pytest.mark.django_db
@pytest.mark.parametrize("slug", ["unknown", "inactive"])
def test_signup_page_of_an_unknown_or_inactive_partner_is_404(client, slug):
    PartnerFactory.create(slug="inactive", is_active=False)

    assert client.get(f"/p/{slug}/").status_code == 404


def test_a_raw_scope_with_no_partner_fails_closed_unlike_plain_django_scopes(
    two_partners_with_clients,
):
    from django_scopes import scope

    with scope(partner=None), pytest.raises(ScopeError):
        list(Client.objects.all())
