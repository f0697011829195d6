"""Portuguese (360Dialog's IO takes lang=pt too): pages, errors, the IO link, numbers."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from clients.tests.test_flow import launch, start
from portal.models import Partner
from portal.tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner() -> Partner:
    return PartnerFactory.create(
        slug="acme", hub_partner_id="aAbBcCPA", hub_url="https://hub.example"
    )


def test_the_signup_page_in_portuguese(partner):
    response = HttpClient().get("/p/acme/?lang=pt")

    text = response.content.decode()
    assert response["Content-Language"] == "pt"
    assert '<html lang="pt">' in text
    assert '<label for="id_email">Endereço de e-mail</label>' in text
    assert ">Continuar</button>" in text
    assert 'lang="pt">Português</a>' in text


def test_a_portuguese_signup_reads_portuguese_numbers_and_tells_360dialog(partner):
    http = HttpClient()
    onboarding = start(http, partner, lang="pt", phone_number="912 345 678")

    page = http.get(f"/p/acme/o/{onboarding.public_id}/").content.decode()
    params = launch(http, partner, onboarding)[1]

    assert (onboarding.lang, onboarding.phone_number) == ("pt", "351912345678")
    assert ">Ligar WhatsApp</button>" in page
    assert (params["lang"], params["number"]) == ("pt", "351912345678")


def test_errors_in_portuguese(partner):
    http = HttpClient()
    posted = http.post("/p/acme/", {"lang": "pt", "email": ""})
    form = http.get(posted["Location"]).content.decode()
    bad_return = HttpClient().get(
        "/p/acme/r/no-such-token-0000000000/?client=c1&channels=[a1]", HTTP_ACCEPT_LANGUAGE="pt"
    )

    assert posted["Location"] == "/p/acme/?lang=pt"
    assert "Introduza o seu endereço de e-mail." in form
    assert "Este link não é válido. Comece de novo na página de registo, por favor." in (
        bad_return.content.decode()
    )
