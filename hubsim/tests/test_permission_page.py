"""The IO permission page over real HTTP: what it shows, what it refuses, where it redirects."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from dialog360.io_link import IoLinkParams, io_link
from dialog360.redirect import parse_redirect
from dialog360.signatures import io_signature, io_signature_mint
from hubsim.tests.conftest import API_KEY, PARTNER_ID, SECRET

REDIRECT = "https://portal.test/r/RETURNTOKEN/"


def open_page(hubsim, **params) -> httpx.Response:
    url = io_link(hubsim.base_url, PARTNER_ID, IoLinkParams(**params))
    return httpx.get(url)


def session_of(page: httpx.Response) -> str:
    match = re.search(r'name="session" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def submit(hubsim, page: httpx.Response, **form) -> httpx.Response:
    data = {"session": session_of(page), "action": "grant", **form}
    return httpx.post(
        f"{hubsim.base_url}/dashboard/app/{PARTNER_ID}/permissions",
        data=data,
        follow_redirects=False,
    )


def test_page_shows_the_prefilled_email_name_and_number(hubsim, partner):
    page = open_page(
        hubsim, email="ada@acme.example", name="Ada <Baker>", number="+49 1511 2345678"
    )

    assert page.status_code == 200
    assert 'value="ada@acme.example"' in page.text
    assert 'value="Ada &lt;Baker&gt;"' in page.text  # escaped, not injected
    assert 'value="4915112345678"' in page.text
    assert '<label for="email">Email</label>' in page.text


def test_unknown_partner_gets_404(hubsim, partner):
    response = httpx.get(f"{hubsim.base_url}/dashboard/app/unknownPA/permissions")

    assert response.status_code == 404
    assert "Unknown partner unknownPA" in response.text


def test_grant_redirects_with_client_channels_and_state(hubsim, partner):
    page = open_page(
        hubsim, email="ada@acme.example", name="Ada", state="onb-1", redirect_url=REDIRECT
    )

    response = submit(hubsim, page, email="ada@acme.example", name="Ada", number="4915112345678")

    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?client=")
    redirect = parse_redirect(urlsplit(location).query)
    state = hubsim.state()
    [client] = state["clients"]
    [channel] = state["channels"]
    assert redirect.client_id == client["id"]
    assert redirect.channel_ids == (channel["id"],)
    assert redirect.revoked_ids == ()
    assert redirect.state == "onb-1"
    assert f"channels=%5B{channel['id']}%5D" in location  # brackets percent-encoded in transit
    assert channel["setup_info"]["phone_number"] == "4915112345678"
    assert client["contact_info"]["email"] == "ada@acme.example"


def test_redirect_url_with_a_fragment_keeps_it_last(hubsim, partner):
    page = open_page(hubsim, email="ada@acme.example", redirect_url="https://portal.test/r/#done")

    location = submit(hubsim, page, email="ada@acme.example", number="4915112345678").headers[
        "location"
    ]

    assert location.startswith("https://portal.test/r/?client=")
    assert location.endswith("#done")


def test_withdrawing_on_a_partner_payment_hub_is_refused(hubsim, partner):
    onboarded = hubsim.onboard(
        partner_id=PARTNER_ID, email="ada@acme.example", numbers=["4915112345678"]
    )
    page = open_page(hubsim, email="ada@acme.example", redirect_url=REDIRECT)
    assert "Withdraw permission" not in page.text

    response = submit(
        hubsim,
        page,
        email="ada@acme.example",
        channel=onboarded["channel_ids"][0],
        action="withdraw",
    )

    assert response.status_code == 400
    assert "only be withdrawn on a Direct Payment hub" in response.text


def test_redirect_url_with_a_query_gets_the_parameters_appended(hubsim, partner):
    page = open_page(hubsim, email="ada@acme.example", redirect_url="https://portal.test/r/?x=1")

    response = submit(hubsim, page, email="ada@acme.example", number="4915112345678")

    assert response.headers["location"].startswith("https://portal.test/r/?x=1&client=")


def test_state_is_left_out_when_not_echoed(hubsim, partner):
    hubsim.faults(echo_state=False)
    page = open_page(hubsim, email="ada@acme.example", state="onb-1", redirect_url=REDIRECT)

    location = submit(hubsim, page, email="ada@acme.example", number="4915112345678").headers[
        "location"
    ]

    assert "state" not in parse_qs(urlsplit(location).query)


@pytest.mark.parametrize(
    ("style", "fragment"), [("literal", "channels=[{id}]"), ("spaced", "channels=%5B{id}%5D")]
)
def test_redirect_styles(hubsim, partner, style, fragment):
    hubsim.faults(redirect_style=style)
    page = open_page(hubsim, email="ada@acme.example", redirect_url=REDIRECT)

    location = submit(hubsim, page, email="ada@acme.example", number="4915112345678").headers[
        "location"
    ]

    [channel] = hubsim.state()["channels"]
    assert fragment.format(id=channel["id"]) in location
    assert parse_redirect(urlsplit(location).query).channel_ids == (channel["id"],)


def test_spaced_style_puts_a_space_after_each_comma(hubsim, partner):
    hubsim.faults(redirect_style="spaced")
    page = open_page(hubsim, email="ada@acme.example", redirect_url=REDIRECT)
    first = submit(hubsim, page, email="ada@acme.example", number="4915112345678")
    [channel] = hubsim.state()["channels"]

    page = open_page(hubsim, email="ada@acme.example", redirect_url=REDIRECT)
    second = submit(
        hubsim, page, email="ada@acme.example", channel=channel["id"], number="4915100000000"
    )

    assert first.status_code == 302
    query = urlsplit(second.headers["location"]).query
    assert "%2C%20" in query
    assert len(parse_redirect(query).channel_ids) == 2


def test_without_any_redirect_url_the_page_says_done(hubsim, partner):
    page = open_page(hubsim, email="ada@acme.example")

    response = submit(hubsim, page, email="ada@acme.example", number="4915112345678")

    assert response.status_code == 200
    assert "You can close this window" in response.text


def test_the_partners_global_redirect_url_is_the_fallback(hubsim, partner):
    hubsim.partner(partner_id=PARTNER_ID, redirect_url="https://portal.test/global/")
    page = open_page(hubsim, email="ada@acme.example")

    response = submit(hubsim, page, email="ada@acme.example", number="4915112345678")

    assert response.headers["location"].startswith("https://portal.test/global/?client=")


def test_a_finished_request_cannot_be_submitted_again(hubsim, partner):
    page = open_page(hubsim, email="ada@acme.example", redirect_url=REDIRECT)
    assert submit(hubsim, page, email="ada@acme.example", number="4915112345678").status_code == 302

    again = submit(hubsim, page, email="ada@acme.example", number="4915100000000")

    assert again.status_code == 400
    assert "finished or unknown" in again.text
    assert len(hubsim.state()["channels"]) == 1


def test_grant_without_any_number_shows_the_form_again_with_the_error(hubsim, partner):
    page = open_page(hubsim, email="ada@acme.example", redirect_url=REDIRECT)

    response = submit(hubsim, page, email="ada@acme.example", number="")

    assert response.status_code == 400
    assert 'role="alert">Choose or add at least one phone number.' in response.text
    assert hubsim.state()["clients"] == []


def test_a_returning_client_sees_its_numbers(hubsim, partner):
    hubsim.onboard(partner_id=PARTNER_ID, email="ada@acme.example", numbers=["4915112345678"])

    page = open_page(hubsim, email="ada@acme.example")

    assert "+4915112345678" in page.text
    assert 'name="channel"' in page.text


class TestIoSignature:
    @pytest.fixture
    def signing_partner(self, hubsim, partner):
        return hubsim.partner(
            partner_id=PARTNER_ID, require_io_signature=True, io_signature_encoding="hex"
        )

    def test_a_fresh_signature_opens_the_page(self, hubsim, signing_partner):
        page = open_page(hubsim, signature=io_signature_mint(PARTNER_ID, SECRET, time.time()))

        assert page.status_code == 200

    def test_a_missing_signature_is_refused(self, hubsim, signing_partner):
        page = open_page(hubsim, email="ada@acme.example")

        assert page.status_code == 403
        assert "must carry io_signature" in page.text

    def test_a_wrong_signature_is_refused(self, hubsim, signing_partner):
        page = open_page(hubsim, signature=io_signature_mint(PARTNER_ID, "other", time.time()))

        assert page.status_code == 403
        assert "does not match" in page.text

    def test_a_stale_signature_is_refused(self, hubsim, signing_partner):
        page = open_page(hubsim, signature=io_signature_mint(PARTNER_ID, SECRET, time.time() - 301))

        assert page.status_code == 403
        assert "expired" in page.text

    def test_a_reused_signature_is_refused(self, hubsim, signing_partner):
        signature = io_signature_mint(PARTNER_ID, SECRET, time.time())
        assert open_page(hubsim, signature=signature).status_code == 200

        again = open_page(hubsim, signature=signature)

        assert again.status_code == 403
        assert "already used" in again.text

    def test_base64_partner_refuses_hex_and_accepts_base64(self, hubsim, signing_partner):
        hubsim.partner(partner_id=PARTNER_ID, io_signature_encoding="base64")
        now = int(time.time())
        hex_link = io_link(hubsim.base_url, PARTNER_ID, IoLinkParams()) + (
            f"?io_signature={io_signature(PARTNER_ID, SECRET, now)}&io_timestamp={now}"
        )

        assert httpx.get(hex_link).status_code == 403
        page = open_page(hubsim, signature=io_signature_mint(PARTNER_ID, SECRET, now, "base64"))
        assert page.status_code == 200


def test_withdraw_on_a_direct_payment_hub_redirects_with_revoked(hubsim, partner, sink):
    hubsim.partner(partner_id=PARTNER_ID, payment_mode="direct")
    onboarded = hubsim.onboard(
        partner_id=PARTNER_ID, email="ada@acme.example", numbers=["4915112345678"]
    )
    [channel_id] = onboarded["channel_ids"]
    hubsim.wait_idle()
    page = open_page(hubsim, email="ada@acme.example", redirect_url=REDIRECT)
    assert "Withdraw permission" in page.text

    response = submit(hubsim, page, email="ada@acme.example", channel=channel_id, action="withdraw")

    redirect = parse_redirect(urlsplit(response.headers["location"]).query)
    assert (redirect.client_id, redirect.channel_ids, redirect.revoked_ids) == (
        onboarded["client_id"],
        (),
        (channel_id,),
    )
    assert hubsim.channel(channel_id)["permission"] is False
    hubsim.wait_idle()
    assert sink.events()[-1] == "channel_permission_revoked"


def test_partner_api_key_is_not_needed_for_the_page(hubsim, partner):
    # The page is the client's; the Partner API key never travels to the browser.
    page = open_page(hubsim, email="ada@acme.example")

    assert API_KEY not in page.text
    assert SECRET not in page.text
