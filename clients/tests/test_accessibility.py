"""Contrast on the partner's colours, focus after a failed submit, and phone numbers in the
formats people type."""

from __future__ import annotations

import pytest
from django.test import Client as HttpClient

from clients.phones import phone_display, phone_normalize
from clients.tests.test_flow import start
from portal.contrast import brand_warnings, contrast_ratio, text_on
from portal.models import Partner
from portal.tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner() -> Partner:
    return PartnerFactory.create(
        slug="acme", hub_partner_id="aAbBcCPA", hub_url="https://hub.example"
    )


def test_text_on_a_brand_colour_is_black_or_white_by_contrast():
    assert round(contrast_ratio("#ffffff", "#128c7e"), 2) == 4.14  # white fails on the default
    assert text_on("#128c7e") == "#000000"
    assert text_on("#0b3d91") == "#ffffff"
    assert (
        min(
            max(contrast_ratio(c, "#000000"), contrast_ratio(c, "#ffffff"))
            for c in ("#777777", "#128c7e", "#ff0000", "#00ff00", "#0000ff", "#ffff00")
        )
        >= 4.5
    )


def test_the_page_takes_its_colours_by_contrast(partner):
    partner.primary_colour, partner.accent_colour = "#0b3d91", "#25d366"
    partner.save()

    text = HttpClient().get("/p/acme/").content.decode()

    assert (
        "<style>:root { --primary: #0b3d91; --accent: #25d366; --on-primary: #ffffff; "
        "--primary-text: #0b3d91; --focus: #1f2933; }</style>"
    ) in text


def test_the_admin_is_told_which_colours_cannot_be_used_as_they_are():
    assert brand_warnings(primary="#0b3d91", accent="#0b3d91") == []
    assert brand_warnings(primary="#ffd400", accent="#25d366") == [
        "The primary colour #ffd400 has 1.43:1 against white (4.5:1 needed for text): links "
        "and labels use #1f2933 instead; buttons in it get black text.",
        "The accent colour #25d366 has 1.98:1 against white (3:1 needed for the focus ring): "
        "the focus ring uses #1f2933 instead.",
    ]


def test_after_a_failed_submit_focus_goes_to_the_first_invalid_field(partner):
    http = HttpClient()
    posted = http.post("/p/acme/", {"email": "ada@example.com", "phone_number": "12ab"})

    text = http.get(posted["Location"]).content.decode()

    assert (
        '<input type="text" name="phone_number" value="12ab" autocomplete="tel" '
        'inputmode="tel" maxlength="30" autofocus aria-invalid="true"'
    ) in text
    assert text.count("autofocus") == 1


def test_a_german_page_reads_a_national_number_as_german(partner):
    onboarding = start(HttpClient(), partner, lang="de", phone_number="0151 2345 6790")

    assert onboarding.phone_number == "4915123456790"


@pytest.mark.parametrize(
    ("typed", "region", "stored"),
    [
        ("+49 151 12345678", None, "4915112345678"),
        ("0049 151 12345678", None, "4915112345678"),
        ("0151 12345678", "DE", "4915112345678"),
        ("912 345 678", "PT", "351912345678"),
    ],
)
def test_numbers_are_stored_as_e164(typed, region, stored):
    assert phone_normalize(typed, region=region) == stored


def test_numbers_are_shown_grouped_for_people():
    assert phone_display("351912345678") == "+351 912 345 678"
    assert phone_display("4915112345678") == "+49 1511 2345678"
