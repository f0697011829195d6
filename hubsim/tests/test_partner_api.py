"""The simulator's Partner API, driven by the portal's own client (dialog360.PartnerApiClient)
over real sockets."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from dialog360.api import PartnerApiClient
from dialog360.errors import (
    FinalError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnauthorizedError,
)
from hubsim.tests.conftest import API_KEY, PARTNER_ID

NUMBER = "4915112345678"


@pytest.fixture
def api(hubsim, partner):
    with PartnerApiClient(
        base_url=hubsim.api_base_url, partner_id=PARTNER_ID, api_key=API_KEY
    ) as client:
        yield client


def fingerprint(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def onboard(hubsim, numbers=(NUMBER,), email="ada@acme.example"):
    onboarded = hubsim.onboard(
        partner_id=PARTNER_ID, email=email, name="Ada", numbers=list(numbers)
    )
    hubsim.wait_idle()
    return onboarded


def test_list_and_get_channels(hubsim, api):
    onboarded = onboard(hubsim)
    [channel_id] = onboarded["channel_ids"]

    page = api.channels_page(filters={"client_id": onboarded["client_id"]})
    channel = api.get_channel(channel_id)

    assert [item.id for item in page.items] == [channel_id]
    assert (page.total, page.offset, page.limit) == (1, 0, 100)
    assert (channel.id, channel.client_id, channel.status) == (
        channel_id,
        onboarded["client_id"],
        "live",
    )
    assert channel.phone_number == NUMBER
    assert channel.billing_started_at is not None


def test_iterating_every_page(hubsim, api):
    numbers = [f"49151000000{index:02d}" for index in range(7)]
    onboarded = onboard(hubsim, numbers=numbers)
    onboard(hubsim, email="other@acme.example")

    channels = list(api.iter_channels(page_size=3))
    filtered = list(api.iter_channels(filters={"client_id": onboarded["client_id"]}, page_size=2))
    clients = list(api.iter_clients(page_size=1))

    assert len(channels) == 8
    assert len({channel.id for channel in channels}) == 8
    assert sorted(channel.id for channel in filtered) == sorted(onboarded["channel_ids"])
    assert sorted(client.email for client in clients) == ["ada@acme.example", "other@acme.example"]
    pages = [call for call in hubsim.state()["api_calls"] if call["operation"] == "list_channels"]
    assert len(pages) == 3 + 4  # ceil(8/3) + ceil(7/2)


def test_get_channel_of_another_partner_is_not_found(hubsim, api):
    hubsim.partner(partner_id="otherPA", api_key="other-key")
    other = hubsim.onboard(partner_id="otherPA", email="x@y.example", numbers=[NUMBER])

    with pytest.raises(NotFoundError):
        api.get_channel(other["channel_ids"][0])


def test_a_wrong_api_key_is_unauthorized(hubsim, partner):
    with (
        PartnerApiClient(
            base_url=hubsim.api_base_url, partner_id=PARTNER_ID, api_key="wrong"
        ) as client,
        pytest.raises(UnauthorizedError) as error,
    ):
        client.channels_page()

    assert error.value.status_code == 401
    assert error.value.developer_message == "Invalid API key for this partner"


def test_shared_numbers_on_partner_payment_cover_every_channel(hubsim, api):
    onboarded = onboard(hubsim)

    shared = api.shared_numbers(onboarded["client_id"])

    assert shared.channel_ids == frozenset(onboarded["channel_ids"])
    assert shared.phone_numbers == frozenset({NUMBER})


def test_shared_numbers_on_direct_payment_follow_the_permission(hubsim, api):
    hubsim.partner(partner_id=PARTNER_ID, payment_mode="direct")
    onboarded = onboard(hubsim)
    [channel_id] = onboarded["channel_ids"]
    assert api.shared_numbers(onboarded["client_id"]).includes(channel_id=channel_id)

    hubsim.permission(channel_id, granted=False)

    assert not api.shared_numbers(onboarded["client_id"]).includes(
        channel_id=channel_id, phone_number=NUMBER
    )


def test_creating_a_key_revokes_the_earlier_ones(hubsim, api):
    [channel_id] = onboard(hubsim)["channel_ids"]

    first = api.create_api_key(channel_id)
    second = api.create_api_key(channel_id)

    state = hubsim.channel(channel_id)
    assert state["keys_created"] == 2
    assert state["current_key"]["id"] == second.id
    assert state["current_key"]["fingerprint"] == fingerprint(second.api_key)
    assert state["current_key"]["last4"] == second.api_key[-4:]
    assert [key["revoked"] for key in state["keys"]] == [True, False]
    assert first.api_key != second.api_key
    assert [key.id for key in api.list_api_keys(channel_id)] == [second.id]
    assert second.address == "https://waba-v2.360dialog.io"


def test_the_older_list_shape_of_a_created_key_is_read_too(hubsim, api):
    hubsim.faults(api_key_shape="list")
    [channel_id] = onboard(hubsim)["channel_ids"]

    created = api.create_api_key(channel_id)

    assert hubsim.channel(channel_id)["current_key"]["fingerprint"] == fingerprint(created.api_key)


def test_a_key_needs_a_running_channel(hubsim, api):
    hubsim.faults(stop_at="ready")
    [channel_id] = onboard(hubsim)["channel_ids"]

    with pytest.raises(FinalError) as error:
        api.create_api_key(channel_id)

    assert str(error.value) == (
        "create_api_key: HTTP 400: Channel is not in running state (status: ready)"
    )
    assert hubsim.channel(channel_id)["keys_created"] == 0


def test_a_key_needs_permission_on_direct_payment(hubsim, api):
    hubsim.partner(partner_id=PARTNER_ID, payment_mode="direct")
    [channel_id] = onboard(hubsim)["channel_ids"]
    hubsim.permission(channel_id, granted=False)

    with pytest.raises(UnauthorizedError) as error:
        api.create_api_key(channel_id)

    assert error.value.status_code == 403
    assert hubsim.channel(channel_id)["keys_created"] == 0


def test_withdrawing_permission_revokes_the_current_key(hubsim, api):
    hubsim.partner(partner_id=PARTNER_ID, payment_mode="direct")
    [channel_id] = onboard(hubsim)["channel_ids"]
    api.create_api_key(channel_id)

    hubsim.permission(channel_id, granted=False)

    assert hubsim.channel(channel_id)["current_key"] is None


def test_deleting_a_key(hubsim, api):
    [channel_id] = onboard(hubsim)["channel_ids"]
    created = api.create_api_key(channel_id)

    url = f"{hubsim.api_base_url}/partners/{PARTNER_ID}/channels/{channel_id}/api_keys/{created.id}"

    assert httpx.delete(url, headers={"X-API-Key": API_KEY}).status_code in (200, 204)
    assert api.list_api_keys(channel_id) == []
    assert httpx.delete(url, headers={"X-API-Key": API_KEY}).status_code == 404


def test_concurrent_creates_are_each_atomic(hubsim, api):
    [channel_id] = onboard(hubsim)["channel_ids"]

    with ThreadPoolExecutor(max_workers=10) as pool:
        created = list(pool.map(lambda _: api.create_api_key(channel_id), range(20)))

    state = hubsim.channel(channel_id)
    assert state["keys_created"] == 20
    assert sum(not key["revoked"] for key in state["keys"]) == 1
    assert state["current_key"]["id"] in {key.id for key in created}


def test_scripted_server_errors_then_success(hubsim, api):
    [channel_id] = onboard(hubsim)["channel_ids"]
    hubsim.faults(api_errors=[500, 503], api_errors_for="create_api_key")
    api.channels_page()  # another operation does not take them

    for status in (500, 503):
        with pytest.raises(ServerError) as error:
            api.create_api_key(channel_id)
        assert error.value.status_code == status
        assert error.value.retryable
    created = api.create_api_key(channel_id)

    assert hubsim.channel(channel_id)["current_key"]["id"] == created.id
    assert hubsim.channel(channel_id)["keys_created"] == 1


def test_rate_limited_with_retry_after(hubsim, api):
    hubsim.faults(api_errors=[429], api_retry_after=3)

    with pytest.raises(RateLimitedError) as error:
        api.channels_page()

    assert error.value.retry_after == 3.0
    assert api.channels_page().total == 0  # the script ran out


def test_a_scripted_client_error_is_final(hubsim, api):
    hubsim.faults(api_errors=[422])

    with pytest.raises(FinalError) as error:
        api.channels_page()

    assert not error.value.retryable
    assert error.value.developer_message == "Simulated error 422"


def test_a_slow_answer_times_out(hubsim, partner):
    hubsim.faults(api_delay=0.5)
    with (
        PartnerApiClient(
            base_url=hubsim.api_base_url,
            partner_id=PARTNER_ID,
            api_key=API_KEY,
            timeout=httpx.Timeout(0.1),
        ) as client,
        pytest.raises(TransportError) as error,
    ):
        client.channels_page()

    assert error.value.retryable
    assert str(error.value) == "list_channels: timed out (ReadTimeout)"


def test_setting_the_webhook_url(hubsim, api, sink):
    response = httpx.post(
        f"{hubsim.api_base_url}/partners/{PARTNER_ID}/webhook_url",
        json={"webhook_url": "https://portal.test/webhooks/360dialog/abc/"},
        headers={"X-API-Key": API_KEY},
    )

    assert response.status_code == 200

    [partner] = hubsim.state()["partners"]
    assert partner["webhook_url"] == "https://portal.test/webhooks/360dialog/abc/"


def test_bad_list_parameters_get_meta_errors(hubsim, api):
    response = httpx.get(
        f"{hubsim.api_base_url}/partners/{PARTNER_ID}/channels",
        params={"filters": "{not json"},
        headers={"X-API-Key": API_KEY},
    )

    assert response.status_code == 400
    assert response.json() == {
        "meta": {
            "success": False,
            "http_code": 400,
            "developer_message": "filters is not valid JSON",
            "details": [],
        }
    }
