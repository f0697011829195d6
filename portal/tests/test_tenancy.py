from __future__ import annotations

import pytest

from clients.models import Client
from clients.tests.factories import ClientFactory
from portal.tenancy import ScopeError, all_partners_scope, partner_scope, partners_scope
from portal.tests.factories import PartnerFactory


@pytest.fixture
def two_partners_with_clients(db):
    alpha, bravo = PartnerFactory.create(slug="alpha"), PartnerFactory.create(slug="bravo")
    ClientFactory.create(partner=alpha, name="Alpha Bakery")
    ClientFactory.create(partner=bravo, name="Bravo Bakery")
    return alpha, bravo


def test_a_tenant_query_without_a_scope_fails_closed(two_partners_with_clients):
    with pytest.raises(ScopeError):
        list(Client.objects.all())
    with pytest.raises(ScopeError):
        Client.objects.filter(name="Bravo Bakery").exists()


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
