"""PartnerApiClient against a mocked 360Dialog Partner API (respx / httpx.MockTransport)."""

from __future__ import annotations

import email.utils
import json
import logging
import ssl
import time
import traceback
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from dialog360.api import (
    DEFAULT_TIMEOUT,
    USER_AGENT,
    ApiKeyInfo,
    CreatedApiKey,
    Page,
    PartnerApiClient,
    SharedNumbers,
)
from dialog360.errors import (
    FinalError,
    InvalidResponseError,
    NotFoundError,
    PartnerApiError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnauthorizedError,
)
from dialog360.objects import ChannelInfo, ClientInfo

FIXTURES = Path(__file__).parent / "fixtures"
BASE_URL = "https://hub.example/api/v2"
PARTNER_ID = "aAbBcCPA"
PARTNER_KEY = "sk-PARTNER-SECRET-123"
PARTNER = f"/partners/{PARTNER_ID}"
CHANNEL_ID = "y9MiLoCH"
CLIENT_ID = "oaY9LLfUCL"
WEBHOOK_URL = "https://portal.test/webhooks/360dialog/partner"


def load(name: str):
    return json.loads((FIXTURES / f"partner_api_{name}.json").read_text())


CREATED = load("create_api_key_201")
ERROR_400 = load("error_400")
CHANNELS = load("list_channels_200")
CHANNEL_KEY = CREATED["api_key"]
META_ERROR = {"meta": {"success": False, "developer_message": "Nope", "details": ["a", "b"]}}

FIXTURE_CHANNEL = ChannelInfo(
    id="y9MiLoCH",
    client_id="oaY9LLfUCL",
    status="running",
    account_mode="live",
    created_at=datetime(2026, 11, 20, 9, 14, 3, tzinfo=UTC),
    phone_number="4915112345678",
    phone_name="Acme Bakery",
    waba_id="104996122399160",
    waba_status="pending",
    client_name="Acme Bakery GmbH",
    client_email="owner@acme-bakery.example",
)

CLIENTS: dict[str, Any] = {
    "count": 1,
    "filters": {},
    "sort": ["-created_at"],
    "limit": 20,
    "offset": 0,
    "total": 1,
    "clients": [
        {
            "id": "oaY9LLfUCL",
            "name": "Acme Bakery GmbH",
            "status": "active",
            "partner_payload": "tenant-42",
            "created_at": "2026-11-20T09:10:00Z",
            "contact_info": {
                "email": "owner@acme-bakery.example",
                "full_name": "Anna Acme",
                "language": "de",
                "country": "DE",
            },
        }
    ],
}


@pytest.fixture
def hub():
    with respx.mock(base_url=BASE_URL, assert_all_called=True) as router:
        yield router


@pytest.fixture
def api():
    with PartnerApiClient(base_url=BASE_URL, partner_id=PARTNER_ID, api_key=PARTNER_KEY) as client:
        yield client


def make_client(transport: httpx.BaseTransport, **kwargs) -> PartnerApiClient:
    return PartnerApiClient(
        base_url=BASE_URL, partner_id=PARTNER_ID, api_key=PARTNER_KEY, transport=transport, **kwargs
    )


def reply(status: int, **kwargs):
    """A respx side effect answering a fresh httpx.Response(status, **kwargs) each time."""

    def side_effect(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, **kwargs)

    return side_effect


def only_request(route: respx.Route) -> httpx.Request:
    assert route.call_count == 1
    return route.calls.last.request


def assert_no_secret(error: BaseException, *secrets: str) -> None:
    texts = [
        str(error),
        repr(error),
        repr(vars(error)),
        "".join(traceback.format_exception(error)),
    ]
    for secret in secrets:
        for text in texts:
            assert secret not in text


# Auth, methods and paths


CALLS = [
    pytest.param(
        lambda api: api.channels_page(),
        "GET",
        f"{PARTNER}/channels",
        reply(200, json={"partner_channels": []}),
        id="channels_page",
    ),
    pytest.param(
        lambda api: api.clients_page(),
        "GET",
        f"{PARTNER}/clients",
        reply(200, json={"clients": []}),
        id="clients_page",
    ),
    pytest.param(
        lambda api: api.get_channel(CHANNEL_ID),
        "GET",
        f"{PARTNER}/channels",
        reply(200, json=CHANNELS),
        id="get_channel",
    ),
    pytest.param(
        lambda api: api.create_api_key(CHANNEL_ID),
        "POST",
        f"{PARTNER}/channels/{CHANNEL_ID}/api_keys",
        reply(201, json=CREATED),
        id="create_api_key",
    ),
    pytest.param(
        lambda api: api.list_api_keys(CHANNEL_ID),
        "GET",
        f"{PARTNER}/channels/{CHANNEL_ID}/api_keys",
        reply(200, json={"api_keys": []}),
        id="list_api_keys",
    ),
    pytest.param(
        lambda api: api.shared_numbers(CLIENT_ID),
        "GET",
        f"{PARTNER}/clients/{CLIENT_ID}/shared_client_numbers",
        reply(200, json={"shared_client_numbers": []}),
        id="shared_numbers",
    ),
]


@pytest.mark.parametrize(("call", "method", "path", "answer"), CALLS)
def test_every_call_sends_the_partner_key_to_the_exact_method_and_path(
    hub, api, call, method, path, answer
):
    route = hub.request(method, path).mock(side_effect=answer)

    call(api)

    request = only_request(route)
    assert request.method == method
    assert request.url.scheme == "https"
    assert request.url.host == "hub.example"
    assert request.url.path == f"/api/v2{path}"
    assert request.headers["X-API-Key"] == PARTNER_KEY
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"] == USER_AGENT
    assert PARTNER_KEY not in str(request.url)
    assert hub.calls.call_count == 1


def test_channels_page_sends_limit_offset_compact_sorted_filters_and_sort(hub, api):
    route = hub.get(f"{PARTNER}/channels").respond(200, json=CHANNELS)

    api.channels_page(
        filters={"status": "running", "client_id": CLIENT_ID},
        sort="-created_at",
        limit=20,
        offset=40,
    )

    params = only_request(route).url.params
    assert dict(params) == {
        "limit": "20",
        "offset": "40",
        "filters": '{"client_id":"oaY9LLfUCL","status":"running"}',
        "sort": "-created_at",
    }


def test_channels_page_filters_by_client_id_as_compact_json(hub, api):
    route = hub.get(f"{PARTNER}/channels").respond(200, json=CHANNELS)

    api.channels_page(filters={"client_id": CLIENT_ID})

    params = only_request(route).url.params
    assert params["filters"] == '{"client_id":"oaY9LLfUCL"}'
    assert dict(params) == {"limit": "100", "offset": "0", "filters": '{"client_id":"oaY9LLfUCL"}'}


def test_pages_without_filters_or_sort_send_only_limit_and_offset(hub, api):
    channels = hub.get(f"{PARTNER}/channels").respond(200, json={"partner_channels": []})
    clients = hub.get(f"{PARTNER}/clients").respond(200, json={"clients": []})

    api.channels_page()
    api.clients_page(filters={}, sort="")

    assert dict(only_request(channels).url.params) == {"limit": "100", "offset": "0"}
    assert dict(only_request(clients).url.params) == {"limit": "100", "offset": "0"}


def test_clients_page_sends_filters_and_sort(hub, api):
    route = hub.get(f"{PARTNER}/clients").respond(200, json=CLIENTS)

    api.clients_page(filters={"id": CLIENT_ID}, sort="-created_at", limit=5, offset=10)

    assert dict(only_request(route).url.params) == {
        "limit": "5",
        "offset": "10",
        "filters": '{"id":"oaY9LLfUCL"}',
        "sort": "-created_at",
    }


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (-1, 0), (10, -1)])
def test_pages_reject_a_bad_limit_or_offset_before_any_request(hub, api, limit, offset):
    with pytest.raises(ValueError, match="limit must be positive and offset not negative"):
        api.channels_page(limit=limit, offset=offset)
    with pytest.raises(ValueError, match="limit must be positive and offset not negative"):
        api.clients_page(limit=limit, offset=offset)

    assert hub.calls.call_count == 0


def test_create_api_key_posts_an_empty_body(hub, api):
    route = hub.post(f"{PARTNER}/channels/{CHANNEL_ID}/api_keys").respond(201, json=CREATED)

    api.create_api_key(CHANNEL_ID)

    request = only_request(route)
    assert (
        str(request.url)
        == "https://hub.example/api/v2/partners/aAbBcCPA/channels/y9MiLoCH/api_keys"
    )
    assert request.content == b""
    assert "Content-Type" not in request.headers


# Pages


def test_channels_page_parses_the_list_channels_fixture(hub, api):
    hub.get(f"{PARTNER}/channels").respond(200, json=CHANNELS)

    page = api.channels_page(filters={"client_id": CLIENT_ID}, limit=20, offset=0)

    assert page == Page(items=(FIXTURE_CHANNEL,), total=1, offset=0, limit=20)
    (channel,) = page.items
    assert channel.id == "y9MiLoCH"
    assert channel.client_id == "oaY9LLfUCL"
    assert channel.status == "running"
    assert channel.phone_number == "4915112345678"
    assert channel.billing_started_at is None
    assert channel.terminated_at is None
    assert channel.raw == CHANNELS["partner_channels"][0]


def test_clients_page_parses_clients(hub, api):
    hub.get(f"{PARTNER}/clients").respond(200, json=CLIENTS)

    page = api.clients_page(limit=20, offset=0)

    assert page == Page(
        items=(
            ClientInfo(
                id="oaY9LLfUCL",
                name="Acme Bakery GmbH",
                status="active",
                partner_payload="tenant-42",
                email="owner@acme-bakery.example",
                full_name="Anna Acme",
                language="de",
                country="DE",
            ),
        ),
        total=1,
        offset=0,
        limit=20,
    )
    assert page.items[0].raw == CLIENTS["clients"][0]


def test_a_page_without_total_counts_its_items(hub, api):
    hub.get(f"{PARTNER}/channels").respond(
        200, json={"partner_channels": [{"id": "ch1"}, {"id": "ch2"}]}
    )

    page = api.channels_page(limit=10, offset=30)

    assert page == Page(
        items=(ChannelInfo(id="ch1"), ChannelInfo(id="ch2")), total=2, offset=30, limit=10
    )


LISTINGS = [
    pytest.param("iter_channels", "/channels", "partner_channels", ChannelInfo, id="channels"),
    pytest.param("iter_clients", "/clients", "clients", ClientInfo, id="clients"),
]


def pager(key: str, pages: dict[int, list[str]], total: int):
    """A side effect answering the page at the request's offset (KeyError on any other); a
    runaway loop fails after 10 requests instead of hanging."""
    requests: list[httpx.Request] = []

    def side_effect(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        assert len(requests) <= 10, "the iteration does not stop"
        offset = int(request.url.params["offset"])
        rows = [{"id": identifier} for identifier in pages[offset]]
        return httpx.Response(200, json={"total": total, "offset": offset, key: rows})

    return side_effect


def offsets(route: respx.Route) -> list[int]:
    return [int(call.request.url.params["offset"]) for call in route.calls]


@pytest.mark.parametrize(("method", "path", "key", "cls"), LISTINGS)
def test_iteration_fetches_every_page(hub, api, method, path, key, cls):
    pages = {0: ["id1", "id2"], 2: ["id3", "id4"], 4: ["id5"]}
    route = hub.get(PARTNER + path).mock(side_effect=pager(key, pages, total=5))

    items = list(getattr(api, method)(page_size=2))

    assert [item.id for item in items] == ["id1", "id2", "id3", "id4", "id5"]
    assert all(type(item) is cls for item in items)
    assert offsets(route) == [0, 2, 4]
    assert [call.request.url.params["limit"] for call in route.calls] == ["2", "2", "2"]


@pytest.mark.parametrize(("method", "path", "key", "cls"), LISTINGS)
def test_iteration_stops_on_an_empty_page_even_if_total_is_larger(hub, api, method, path, key, cls):
    pages = {0: ["id1", "id2"], 2: ["id3"], 3: []}
    route = hub.get(PARTNER + path).mock(side_effect=pager(key, pages, total=50))

    items = list(getattr(api, method)(page_size=2))

    assert [item.id for item in items] == ["id1", "id2", "id3"]
    assert offsets(route) == [0, 2, 3]


@pytest.mark.parametrize(("method", "path", "key", "cls"), LISTINGS)
def test_iteration_drops_an_id_repeated_across_pages(hub, api, method, path, key, cls):
    pages = {0: ["id1", "id2"], 2: ["id2", "id3"]}
    route = hub.get(PARTNER + path).mock(side_effect=pager(key, pages, total=4))

    items = list(getattr(api, method)(page_size=2))

    assert [item.id for item in items] == ["id1", "id2", "id3"]
    assert offsets(route) == [0, 2]


@pytest.mark.parametrize(("method", "path", "key", "cls"), LISTINGS)
def test_iteration_passes_filters_and_sort_on_every_page(hub, api, method, path, key, cls):
    pages = {0: ["id1", "id2"], 2: ["id3"]}
    route = hub.get(PARTNER + path).mock(side_effect=pager(key, pages, total=3))

    items = list(
        getattr(api, method)(filters={"client_id": CLIENT_ID}, sort="-created_at", page_size=2)
    )

    assert len(items) == 3
    assert [dict(call.request.url.params) for call in route.calls] == [
        {
            "limit": "2",
            "offset": str(offset),
            "filters": '{"client_id":"oaY9LLfUCL"}',
            "sort": "-created_at",
        }
        for offset in (0, 2)
    ]


@pytest.mark.parametrize(("method", "path", "key", "cls"), LISTINGS)
def test_iteration_is_lazy_and_uses_pages_of_100_by_default(hub, api, method, path, key, cls):
    route = hub.get(PARTNER + path).mock(side_effect=pager(key, {0: ["id1"]}, total=1))

    iterator = getattr(api, method)()
    assert route.call_count == 0

    assert [item.id for item in iterator] == ["id1"]
    assert dict(only_request(route).url.params) == {"limit": "100", "offset": "0"}


# get_channel


def test_get_channel_filters_by_id_with_limit_one(hub, api):
    route = hub.get(f"{PARTNER}/channels").respond(200, json=CHANNELS)

    channel = api.get_channel(CHANNEL_ID)

    assert channel == FIXTURE_CHANNEL
    assert dict(only_request(route).url.params) == {
        "limit": "1",
        "offset": "0",
        "filters": '{"id":"y9MiLoCH"}',
    }


@pytest.mark.parametrize(
    "rows",
    [pytest.param([], id="empty"), pytest.param([{"id": "other1"}], id="another-channel")],
)
def test_get_channel_raises_not_found_when_the_page_lacks_it(hub, api, rows):
    hub.get(f"{PARTNER}/channels").respond(200, json={"total": len(rows), "partner_channels": rows})

    with pytest.raises(NotFoundError) as caught:
        api.get_channel(CHANNEL_ID)

    assert type(caught.value) is NotFoundError
    assert str(caught.value) == "get_channel: channel y9MiLoCH not found"
    assert caught.value.operation == "get_channel"
    assert caught.value.status_code is None
    assert caught.value.retryable is False


BAD_IDS = ["../x", "a/b", "", "y9Mi LoCH", "a%2Fb", "a.b", "x" * 65, "ch?x=1"]


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_a_bad_channel_id_is_rejected_before_any_request(hub, api, bad_id):
    for call in (
        api.get_channel,
        api.create_api_key,
        api.list_api_keys,
    ):
        with pytest.raises(ValueError, match="channel_id must be 1-64 letters or digits"):
            call(bad_id)

    assert hub.calls.call_count == 0


@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_a_bad_client_id_is_rejected_before_any_request(hub, api, bad_id):
    with pytest.raises(ValueError, match="client_id must be 1-64 letters or digits"):
        api.shared_numbers(bad_id)

    assert hub.calls.call_count == 0


# Channel API keys


@pytest.mark.parametrize(
    "body",
    [pytest.param(CREATED, id="flat"), pytest.param({"api_keys": [CREATED]}, id="api_keys-list")],
)
def test_create_api_key_reads_both_documented_shapes(hub, api, body):
    hub.post(f"{PARTNER}/channels/{CHANNEL_ID}/api_keys").respond(201, json=body)

    created = api.create_api_key(CHANNEL_ID)

    assert created == CreatedApiKey(
        id="201126",
        api_key="Zm9vYmFyYmF6cXV4X2V4YW1wbGVfa2V5",
        address="https://waba-v2.360dialog.io",
        app_id="104148",
    )
    assert repr(created) == (
        "CreatedApiKey(id='201126', address='https://waba-v2.360dialog.io', app_id='104148')"
    )
    assert CHANNEL_KEY not in repr(created)


def test_create_api_key_accepts_a_numeric_id_and_missing_optional_fields(hub, api):
    hub.post(f"{PARTNER}/channels/{CHANNEL_ID}/api_keys").respond(
        201, json={"id": 201126, "api_key": CHANNEL_KEY}
    )

    assert api.create_api_key(CHANNEL_ID) == CreatedApiKey(id="201126", api_key=CHANNEL_KEY)


BAD_CREATED = [
    pytest.param(
        {"json": {"id": "201126", "token": CHANNEL_KEY}},
        "api_key is missing",
        None,
        id="no-api_key",
    ),
    pytest.param(
        {"json": {"id": "201126", "api_key": "", "secret": CHANNEL_KEY}},
        "api_key is missing",
        None,
        id="empty-api_key",
    ),
    pytest.param(
        {"json": {"id": "201126", "api_key": [CHANNEL_KEY]}},
        "api_key is missing",
        None,
        id="api_key-not-a-string",
    ),
    pytest.param(
        {"json": {"api_keys": [], "api_key": CHANNEL_KEY}},
        "api_keys must hold exactly one key",
        None,
        id="api_keys-empty",
    ),
    pytest.param(
        {"json": {"api_keys": [CREATED, {**CREATED, "id": "201127"}]}},
        "api_keys must hold exactly one key",
        None,
        id="api_keys-two",
    ),
    pytest.param(
        {"json": {"api_keys": CREATED}},
        "api_keys must hold exactly one key",
        None,
        id="api_keys-not-a-list",
    ),
    pytest.param(
        {"json": {"api_keys": [CHANNEL_KEY]}},
        "api_keys[0] must be an object, got str",
        None,
        id="api_keys-holds-a-string",
    ),
    pytest.param(
        {"json": {"api_key": CHANNEL_KEY}},
        "id must be 1-64 letters, digits, - or _, got None",
        None,
        id="no-id",
    ),
    pytest.param(
        {"json": {**CREATED, "address": {"url": CHANNEL_KEY}}},
        "address must be a string, got dict",
        None,
        id="address-not-a-string",
    ),
    pytest.param({"json": [CREATED]}, "response must be an object, got list", None, id="bare-list"),
    pytest.param(
        {"content": f"api_key={CHANNEL_KEY}".encode()},
        "HTTP 201 answer is not JSON",
        201,
        id="not-json",
    ),
]


@pytest.mark.parametrize(("answer", "message", "status_code"), BAD_CREATED)
def test_create_api_key_rejects_an_unknown_shape_without_quoting_the_key(
    hub, api, answer, message, status_code
):
    hub.post(f"{PARTNER}/channels/{CHANNEL_ID}/api_keys").respond(201, **answer)

    with pytest.raises(InvalidResponseError) as caught:
        api.create_api_key(CHANNEL_ID)

    assert type(caught.value) is InvalidResponseError
    assert str(caught.value) == f"create_api_key: {message}"
    assert caught.value.status_code == status_code
    assert caught.value.retryable is False
    assert_no_secret(caught.value, CHANNEL_KEY, PARTNER_KEY)


KEY_ROWS = [
    {"id": "201126", "address": "https://waba-v2.360dialog.io", "app_id": "104148"},
    {"id": 201127},
]


@pytest.mark.parametrize(
    "body",
    [pytest.param({"api_keys": KEY_ROWS}, id="object"), pytest.param(KEY_ROWS, id="bare-list")],
)
def test_list_api_keys_reads_both_shapes(hub, api, body):
    hub.get(f"{PARTNER}/channels/{CHANNEL_ID}/api_keys").respond(200, json=body)

    assert api.list_api_keys(CHANNEL_ID) == [
        ApiKeyInfo(id="201126", address="https://waba-v2.360dialog.io", app_id="104148"),
        ApiKeyInfo(id="201127"),
    ]


def test_list_api_keys_reads_an_empty_list(hub, api):
    hub.get(f"{PARTNER}/channels/{CHANNEL_ID}/api_keys").respond(200, json={"api_keys": []})

    assert api.list_api_keys(CHANNEL_ID) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"keys": []}, "api_keys must be a list"),
        ({"api_keys": {"id": "201126"}}, "api_keys must be a list"),
        ("201126", "api_keys must be a list"),
        ({"api_keys": ["201126"]}, "api_keys[] must be an object, got str"),
        ({"api_keys": [{"address": "x"}]}, "id must be 1-64 letters, digits, - or _, got None"),
    ],
)
def test_list_api_keys_rejects_an_unknown_shape(hub, api, body, message):
    hub.get(f"{PARTNER}/channels/{CHANNEL_ID}/api_keys").respond(200, json=body)

    with pytest.raises(InvalidResponseError) as caught:
        api.list_api_keys(CHANNEL_ID)

    assert str(caught.value) == f"list_api_keys: {message}"
    assert caught.value.status_code is None


# Shared numbers


SHARED_SHAPES = [
    pytest.param(
        {"shared_client_numbers": [{"channel_id": "y9MiLoCH", "phone_number": "+4915112345678"}]},
        {"y9MiLoCH"},
        {"4915112345678"},
        id="shared_client_numbers-objects",
    ),
    pytest.param(
        ["y9MiLoCH", "AbC123"], {"y9MiLoCH", "AbC123"}, set(), id="bare-list-of-channel-ids"
    ),
    pytest.param(
        ["+4915112345678", "4915187654321"],
        set(),
        {"4915112345678", "4915187654321"},
        id="bare-list-of-numbers",
    ),
    pytest.param(
        [{"id": "y9MiLoCH", "number": "4915112345678"}, {"id": "AbC123", "number": 4915187654321}],
        {"y9MiLoCH", "AbC123"},
        {"4915112345678", "4915187654321"},
        id="objects-with-id-and-number",
    ),
    pytest.param({"numbers": ["+4915112345678"]}, set(), {"4915112345678"}, id="numbers-key"),
    pytest.param({"channels": [{"id": "y9MiLoCH"}]}, {"y9MiLoCH"}, set(), id="channels-key"),
    pytest.param(
        {"partner_channels": [{"id": "y9MiLoCH"}]}, {"y9MiLoCH"}, set(), id="partner_channels-key"
    ),
    pytest.param({"data": ["y9MiLoCH"]}, {"y9MiLoCH"}, set(), id="data-key"),
    pytest.param({"shared_client_numbers": []}, set(), set(), id="empty"),
]


@pytest.mark.parametrize(("body", "channel_ids", "phone_numbers"), SHARED_SHAPES)
def test_shared_numbers_reads_every_tolerated_shape(hub, api, body, channel_ids, phone_numbers):
    route = hub.get(f"{PARTNER}/clients/{CLIENT_ID}/shared_client_numbers").respond(200, json=body)

    shared = api.shared_numbers(CLIENT_ID)

    assert shared == SharedNumbers(frozenset(channel_ids), frozenset(phone_numbers))
    assert only_request(route).url.params == httpx.QueryParams()


SHARED = SharedNumbers(frozenset({"y9MiLoCH"}), frozenset({"4915112345678"}))


@pytest.mark.parametrize(
    ("channel_id", "phone_number", "expected"),
    [
        ("y9MiLoCH", "", True),
        ("y9MiLoCH", "4915100000000", True),
        ("other1", "4915112345678", True),
        ("other1", "", False),
        ("other1", "4915100000000", False),
        ("y9milocH", "", False),
        ("", "", False),
    ],
)
def test_shared_numbers_includes(channel_id, phone_number, expected):
    assert SHARED.includes(channel_id=channel_id, phone_number=phone_number) is expected


def test_shared_numbers_includes_without_a_phone_number_checks_only_the_channel():
    assert SHARED.includes(channel_id="y9MiLoCH") is True
    assert SHARED.includes(channel_id="other1") is False


def test_shared_numbers_includes_a_number_written_with_a_plus(hub, api):
    hub.get(f"{PARTNER}/clients/{CLIENT_ID}/shared_client_numbers").respond(
        200, json=["+4915112345678"]
    )

    shared = api.shared_numbers(CLIENT_ID)

    assert shared.includes(channel_id="other1", phone_number="+4915112345678") is True


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"foo": []}, "the answer holds no list of numbers"),
        ({"shared_client_numbers": {"y9MiLoCH": True}}, "the answer holds no list of numbers"),
        ({"shared_client_numbers": None}, "the answer holds no list of numbers"),
        ("y9MiLoCH", "the answer holds no list of numbers"),
        (None, "the answer holds no list of numbers"),
        ([4915112345678], "a shared number is neither a string nor an object"),
        ([["y9MiLoCH"]], "a shared number is neither a string nor an object"),
    ],
)
def test_shared_numbers_without_a_list_is_an_invalid_response(hub, api, body, message):
    hub.get(f"{PARTNER}/clients/{CLIENT_ID}/shared_client_numbers").respond(
        200, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )

    with pytest.raises(InvalidResponseError) as caught:
        api.shared_numbers(CLIENT_ID)

    assert str(caught.value) == f"shared_client_numbers: {message}"
    assert caught.value.operation == "shared_client_numbers"


# Errors


def test_the_error_400_fixture_is_a_final_error_with_360dialogs_message(hub, api):
    hub.post(f"{PARTNER}/channels/{CHANNEL_ID}/api_keys").respond(400, json=ERROR_400)

    with pytest.raises(FinalError) as caught:
        api.create_api_key(CHANNEL_ID)

    error = caught.value
    assert type(error) is FinalError
    assert error.status_code == 400
    assert error.operation == "create_api_key"
    assert error.developer_message == "Channel is not in running state"
    assert error.details == ("status: ready",)
    assert error.retryable is False
    assert str(error) == "create_api_key: HTTP 400: Channel is not in running state (status: ready)"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, FinalError),
        (401, UnauthorizedError),
        (403, UnauthorizedError),
        (404, NotFoundError),
        (409, FinalError),
        (422, FinalError),
    ],
)
def test_a_4xx_is_a_final_error_of_its_class(hub, api, status, cls):
    hub.get(f"{PARTNER}/channels/{CHANNEL_ID}/api_keys").respond(status, json=META_ERROR)

    with pytest.raises(FinalError) as caught:
        api.list_api_keys(CHANNEL_ID)

    error = caught.value
    assert type(error) is cls
    assert error.status_code == status
    assert error.retryable is False
    assert error.developer_message == "Nope"
    assert error.details == ("a", "b")
    assert str(error) == f"list_api_keys: HTTP {status}: Nope (a; b)"


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param({"content": b"<html>Bad Request</html>"}, id="html"),
        pytest.param({"content": b""}, id="empty"),
        pytest.param({"json": ["not", "an", "object"]}, id="json-list"),
        pytest.param({"json": {"meta": "broken"}}, id="meta-not-an-object"),
        pytest.param({"json": {"meta": {"developer_message": 7}}}, id="message-not-a-string"),
    ],
)
def test_a_4xx_without_a_readable_meta_is_a_final_error_with_an_empty_message(hub, api, answer):
    hub.post(f"{PARTNER}/channels/{CHANNEL_ID}/api_keys").respond(400, **answer)

    with pytest.raises(FinalError) as caught:
        api.create_api_key(CHANNEL_ID)

    error = caught.value
    assert type(error) is FinalError
    assert error.status_code == 400
    assert error.developer_message == ""
    assert error.details == ()
    assert str(error) == "create_api_key: HTTP 400"


def test_meta_message_and_details_are_truncated(hub, api):
    body = {"meta": {"developer_message": "m" * 600, "details": ["d" * 300] * 12}}
    hub.get(f"{PARTNER}/channels/{CHANNEL_ID}/api_keys").respond(400, json=body)

    with pytest.raises(FinalError) as caught:
        api.list_api_keys(CHANNEL_ID)

    assert caught.value.developer_message == "m" * 500
    assert caught.value.details == ("d" * 200,) * 10


def rate_limited(hub, api, headers) -> RateLimitedError:
    hub.get(f"{PARTNER}/channels").respond(429, headers=headers, json=META_ERROR)
    with pytest.raises(RateLimitedError) as caught:
        api.channels_page()
    return caught.value


def test_429_with_retry_after_seconds_is_rate_limited(hub, api):
    error = rate_limited(hub, api, {"Retry-After": "7"})

    assert type(error) is RateLimitedError
    assert error.retryable is True
    assert error.retry_after == 7.0
    assert error.status_code == 429
    assert str(error) == "list_channels: HTTP 429: Nope (a; b)"


def test_429_with_a_future_http_date_gives_the_seconds_until_then(hub, api):
    header = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    before = time.time()

    error = rate_limited(hub, api, {"Retry-After": header})

    difference = email.utils.parsedate_to_datetime(header).timestamp() - before
    assert type(error.retry_after) is float
    assert 0.0 < error.retry_after <= difference
    assert error.retry_after > difference - 5.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("0", 0.0),
        ("3600", 3600.0),
        ("999999", 3600.0),
        ("9" * 40, 3600.0),
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0),
        ("soon", None),
        ("-5", None),
        ("7.5", None),
        ("Mon, 32 Jan 2026 00:00:00 GMT", None),
    ],
)
def test_429_retry_after_is_capped_and_malformed_values_are_ignored(hub, api, header, expected):
    assert rate_limited(hub, api, {"Retry-After": header}).retry_after == expected


def test_429_without_retry_after_has_none(hub, api):
    error = rate_limited(hub, api, {})

    assert error.retry_after is None
    assert error.retryable is True


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(b"\xb2", id="superscript-two"),
        pytest.param(b"Mon, 01 Jan 2026 00:00:00 +99999999999999999999", id="huge-zone"),
    ],
)
def test_429_with_an_unparseable_retry_after_is_still_rate_limited(hub, api, header):
    hub.get(f"{PARTNER}/channels").respond(429, headers=[(b"Retry-After", header)])

    with pytest.raises(RateLimitedError) as caught:
        api.channels_page()

    assert caught.value.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_a_retryable_server_error(hub, api, status):
    hub.get(f"{PARTNER}/clients").respond(status, content=b"<html>upstream down</html>")

    with pytest.raises(ServerError) as caught:
        api.clients_page()

    error = caught.value
    assert type(error) is ServerError
    assert error.retryable is True
    assert error.status_code == status
    assert error.retry_after is None
    assert str(error) == f"list_clients: HTTP {status}"


def test_503_with_retry_after_carries_it(hub, api):
    hub.get(f"{PARTNER}/clients").respond(503, headers={"Retry-After": "30"}, json=META_ERROR)

    with pytest.raises(ServerError) as caught:
        api.clients_page()

    assert caught.value.retry_after == 30.0
    assert str(caught.value) == "list_clients: HTTP 503: Nope (a; b)"


@pytest.mark.parametrize(
    ("exception", "message"),
    [
        (httpx.ConnectError, "transport failed (ConnectError)"),
        (httpx.RemoteProtocolError, "transport failed (RemoteProtocolError)"),
        (httpx.ReadTimeout, "timed out (ReadTimeout)"),
        (httpx.ConnectTimeout, "timed out (ConnectTimeout)"),
    ],
)
def test_a_transport_failure_is_a_retryable_transport_error(hub, api, exception, message):
    hub.post(f"{PARTNER}/channels/{CHANNEL_ID}/api_keys").mock(side_effect=exception)

    with pytest.raises(TransportError) as caught:
        api.create_api_key(CHANNEL_ID)

    error = caught.value
    assert type(error) is TransportError
    assert error.retryable is True
    assert error.status_code is None
    assert error.retry_after is None
    assert str(error) == f"create_api_key: {message}"
    assert error.__cause__ is None
    assert error.__suppress_context__ is True


class BrokenGzip(httpx.SyncByteStream):
    def __iter__(self):
        yield b"this is not gzip"


def test_an_undecodable_body_is_a_typed_error():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Encoding": "gzip"}, stream=BrokenGzip())

    with make_client(httpx.MockTransport(handler)) as api, pytest.raises(PartnerApiError) as caught:
        api.list_api_keys(CHANNEL_ID)

    assert caught.value.retryable is True


SHARED_PATH = f"/clients/{CLIENT_ID}/shared_client_numbers"
KEYS_PATH = f"/channels/{CHANNEL_ID}/api_keys"


@pytest.mark.parametrize(
    ("call", "path", "operation"),
    [
        (lambda api: api.channels_page(), "/channels", "list_channels"),
        (lambda api: api.clients_page(), "/clients", "list_clients"),
        (lambda api: api.shared_numbers(CLIENT_ID), SHARED_PATH, "shared_client_numbers"),
        (lambda api: api.list_api_keys(CHANNEL_ID), KEYS_PATH, "list_api_keys"),
    ],
)
def test_a_200_that_is_not_json_is_an_invalid_response(hub, api, call, path, operation):
    hub.get(PARTNER + path).respond(200, content=b"<html>maintenance</html>")

    with pytest.raises(InvalidResponseError) as caught:
        call(api)

    assert type(caught.value) is InvalidResponseError
    assert str(caught.value) == f"{operation}: HTTP 200 answer is not JSON"
    assert caught.value.status_code == 200
    assert caught.value.retryable is False


NOT_WHOLE = "list_channels: total must be a whole number"


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/channels", {"total": 1}, "list_channels: partner_channels must be a list"),
        ("/channels", {"partner_channels": None}, "list_channels: partner_channels must be a list"),
        ("/channels", {"clients": []}, "list_channels: partner_channels must be a list"),
        ("/clients", {"partner_channels": []}, "list_clients: clients must be a list"),
        ("/channels", [], "list_channels: response must be an object, got list"),
        ("/channels", {"total": "5", "partner_channels": []}, NOT_WHOLE),
        ("/channels", {"total": 1.5, "partner_channels": []}, NOT_WHOLE),
        ("/channels", {"total": True, "partner_channels": []}, NOT_WHOLE),
        ("/channels", {"total": -1, "partner_channels": []}, NOT_WHOLE),
        ("/channels", {"total": None, "partner_channels": []}, NOT_WHOLE),
        ("/clients", {"total": "1", "clients": []}, "list_clients: total must be a whole number"),
        (
            "/channels",
            {"partner_channels": [{"id": "a/b"}]},
            "list_channels: partner_channels[0].id must be a 360Dialog id (letters and digits), "
            "got 'a/b'",
        ),
        (
            "/clients",
            {"clients": ["oaY9LLfUCL"]},
            "list_clients: clients[0] must be an object, got str",
        ),
    ],
)
def test_a_list_page_of_the_wrong_shape_is_an_invalid_response(hub, api, path, body, message):
    hub.get(PARTNER + path).respond(200, json=body)
    page = api.channels_page if path == "/channels" else api.clients_page

    with pytest.raises(InvalidResponseError) as caught:
        page()

    assert type(caught.value) is InvalidResponseError
    assert str(caught.value) == message
    assert caught.value.status_code is None


# Secrets


FAILING_ANSWERS = [
    pytest.param(reply(400, json=ERROR_400), id="400-meta"),
    pytest.param(reply(400, content=b"Bad Request"), id="400-not-json"),
    pytest.param(reply(401, json=META_ERROR), id="401"),
    pytest.param(reply(403, json=META_ERROR), id="403"),
    pytest.param(reply(404, json=META_ERROR), id="404"),
    pytest.param(reply(429, headers={"Retry-After": "7"}), id="429-seconds"),
    pytest.param(
        reply(429, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}), id="429-date"
    ),
    pytest.param(reply(429), id="429-bare"),
    pytest.param(reply(500, json=META_ERROR), id="500"),
    pytest.param(reply(502, content=b"Bad Gateway"), id="502"),
    pytest.param(reply(503, headers={"Retry-After": "999999"}), id="503"),
    pytest.param(reply(302, headers={"Location": "https://elsewhere.example/"}), id="302"),
    pytest.param(reply(200, content=b"<html>"), id="200-not-json"),
    pytest.param(reply(200, json={"total": 1}), id="200-wrong-shape"),
    pytest.param(httpx.ConnectError, id="connect-error"),
    pytest.param(httpx.ReadTimeout, id="read-timeout"),
]

OPERATIONS = [
    lambda api: api.channels_page(filters={"client_id": CLIENT_ID}),
    lambda api: api.clients_page(),
    lambda api: api.get_channel(CHANNEL_ID),
    lambda api: api.create_api_key(CHANNEL_ID),
    lambda api: api.list_api_keys(CHANNEL_ID),
    lambda api: api.shared_numbers(CLIENT_ID),
]


@pytest.mark.parametrize("answer", FAILING_ANSWERS)
def test_no_error_carries_the_partner_key(hub, api, answer):
    hub.route().mock(side_effect=answer)

    for operation in OPERATIONS:
        with pytest.raises(PartnerApiError) as caught:
            operation(api)
        assert_no_secret(caught.value, PARTNER_KEY)

    assert hub.calls.call_count == len(OPERATIONS)


def test_repr_of_the_client_hides_the_key(api):
    assert (
        repr(api)
        == "PartnerApiClient(base_url='https://hub.example/api/v2', partner_id='aAbBcCPA')"
    )
    assert PARTNER_KEY not in repr(api)
    assert PARTNER_KEY not in str(api)


def test_logs_carry_neither_the_partner_key_nor_a_channel_key(hub, api, caplog):
    caplog.set_level(logging.DEBUG)
    hub.get(f"{PARTNER}/channels").respond(200, json=CHANNELS)
    hub.post(f"{PARTNER}/channels/{CHANNEL_ID}/api_keys").respond(201, json=CREATED)
    hub.get(f"{PARTNER}/channels/{CHANNEL_ID}/api_keys").respond(401, json=META_ERROR)
    hub.get(f"{PARTNER}/clients/{CLIENT_ID}/shared_client_numbers").mock(
        side_effect=httpx.ConnectError
    )

    api.get_channel(CHANNEL_ID)
    assert api.create_api_key(CHANNEL_ID).api_key == CHANNEL_KEY
    with pytest.raises(UnauthorizedError):
        api.list_api_keys(CHANNEL_ID)
    with pytest.raises(TransportError):
        api.shared_numbers(CLIENT_ID)

    assert [record.name for record in caplog.records].count("httpx") == 3
    for record in caplog.records:
        for text in (record.getMessage(), repr(record.args), repr(record.__dict__)):
            assert PARTNER_KEY not in text
            assert CHANNEL_KEY not in text
    assert PARTNER_KEY not in caplog.text
    assert CHANNEL_KEY not in caplog.text


# Constructor


def test_an_empty_api_key_is_rejected():
    with pytest.raises(ValueError, match="the Partner API needs the partner's API key"):
        PartnerApiClient(base_url=BASE_URL, partner_id=PARTNER_ID, api_key="")


@pytest.mark.parametrize("partner_id", ["", "aAbBcC", "PA", "aAb/PA", "../PA", "aAbBcCpa", "a bPA"])
def test_a_bad_partner_id_is_rejected(partner_id):
    with pytest.raises(ValueError, match="partner id must be letters and digits ending in PA"):
        PartnerApiClient(base_url=BASE_URL, partner_id=partner_id, api_key=PARTNER_KEY)


@pytest.mark.parametrize("base_url", [BASE_URL, f"{BASE_URL}/", f"{BASE_URL}//"])
def test_a_trailing_slash_on_the_base_url_is_dropped(hub, base_url):
    route = hub.get(f"{PARTNER}/channels").respond(200, json={"partner_channels": []})

    with PartnerApiClient(base_url=base_url, partner_id=PARTNER_ID, api_key=PARTNER_KEY) as api:
        api.channels_page()

    assert api.base_url == BASE_URL
    assert str(only_request(route).url) == (
        "https://hub.example/api/v2/partners/aAbBcCPA/channels?limit=100&offset=0"
    )


def test_the_client_is_a_context_manager_that_closes_its_http_client():
    with PartnerApiClient(base_url=BASE_URL, partner_id=PARTNER_ID, api_key=PARTNER_KEY) as entered:
        assert isinstance(entered, PartnerApiClient)
        http = entered._http
        assert http.is_closed is False

    assert http.is_closed is True


def test_close_closes_the_http_client(api):
    api.close()

    assert api._http.is_closed is True


def test_a_redirect_is_not_followed_but_raised_as_a_final_error():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"Location": "https://elsewhere.example/steal"})

    with make_client(httpx.MockTransport(handler)) as api:
        assert api._http.follow_redirects is False
        with pytest.raises(FinalError) as caught:
            api.list_api_keys(CHANNEL_ID)

    error = caught.value
    assert type(error) is FinalError
    assert error.status_code == 302
    assert error.developer_message == ""
    assert str(error) == "list_api_keys: HTTP 302"
    assert [str(request.url) for request in seen] == [
        "https://hub.example/api/v2/partners/aAbBcCPA/channels/y9MiLoCH/api_keys"
    ]


def test_an_injected_transport_gets_every_request():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=CHANNELS)

    with make_client(httpx.MockTransport(handler)) as api:
        assert api.get_channel(CHANNEL_ID) == FIXTURE_CHANNEL

    (request,) = seen
    assert request.headers["X-API-Key"] == PARTNER_KEY
    assert request.url.params["filters"] == '{"id":"y9MiLoCH"}'


# Timeouts


def test_the_default_timeout_is_3s_to_connect_and_10s_to_read(api):
    timeout = api._http.timeout

    assert timeout.connect == 3.0
    assert timeout.read == 10.0
    assert timeout.write == 10.0
    assert timeout.pool == 10.0
    assert timeout == DEFAULT_TIMEOUT


def test_a_custom_timeout_is_used():
    custom = httpx.Timeout(5.0, connect=1.0)

    with make_client(
        httpx.MockTransport(lambda request: httpx.Response(204)), timeout=custom
    ) as api:
        assert api._http.timeout == custom


def test_clients_share_one_tls_context(monkeypatch):
    """Reading the CA bundle for every client cost more than a call to a nearby server."""
    from dialog360 import api

    made = []
    real = httpx.create_ssl_context

    def counted() -> ssl.SSLContext:
        made.append(1)
        return real()

    monkeypatch.setattr(httpx, "create_ssl_context", counted)
    api._tls.cache_clear()

    clients = [
        PartnerApiClient(base_url="https://hub.example/api/v2", partner_id="aAbBcCPA", api_key="k")
        for _ in range(20)
    ]

    for client in clients:
        client.close()
    assert len(made) == 1
    api._tls.cache_clear()
