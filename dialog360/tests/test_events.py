"""Partner webhook events: raw bytes -> typed events, with exact values from the fixtures."""

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dialog360.events import (
    ChannelEvent,
    ChannelNoticeEvent,
    ClientEvent,
    TemplateEvent,
    UnknownEvent,
    load_payload,
    parse_event,
)
from dialog360.objects import ChannelInfo, ClientInfo, PayloadError

FIXTURES = Path(__file__).parent / "fixtures"
CREATED_AT = datetime(2026, 11, 20, 9, 14, 3, tzinfo=UTC)
BILLING_STARTED_AT = datetime(2026, 11, 20, 9, 31, 40, tzinfo=UTC)

# Every webhook fixture: (event id, channel status, billing_started_at, waba status).
CHANNEL_FIXTURES = {
    "channel_created": ("evt_01HZX3K2Q1", "created", None, "pending"),
    "channel_ready": ("evt_01HZX3K2Q2", "ready", None, "pending"),
    "channel_permission_granted": ("evt_01HZX3K2Q3", "ready", None, "pending"),
    "channel_running": ("evt_01HZX3K2Q4", "running", BILLING_STARTED_AT, "pending"),
    "channel_live": ("evt_01HZX3K2Q5", "live", BILLING_STARTED_AT, "verified"),
}

# The documented events whose data is a channel object, plus the simulator's revoke event.
CHANNEL_EVENT_NAMES = [
    "channel_created",
    "channel_submitted",
    "channel_ready",
    "channel_running",
    "channel_live",
    "channel_permission_granted",
    "channel_permission_revoked",
]
NOTICE_EVENT_NAMES = [
    "account_violation",
    "account_restriction",
    "cancellation_request",
    "cancellation_revoke",
    "cancellation_processed",
    "template_messaging_enabled",
    "template_messaging_disabled",
]


def fixture_bytes(name):
    return (FIXTURES / f"{name}.json").read_bytes()


def parse_channel_event(payload):
    """parse_event, checked to give a ChannelEvent."""
    event = parse_event(payload)
    assert isinstance(event, ChannelEvent)
    return event


def channel(**overrides):
    """A minimal channel object; `overrides` replace or add keys."""
    return {"id": "y9MiLoCH", "client_id": "oaY9LLfUCL", "status": "ready", **overrides}


# --- fixtures ---------------------------------------------------------------------------------


def test_every_webhook_fixture_is_covered():
    webhook_fixtures = {
        path.stem for path in FIXTURES.glob("*.json") if not path.name.startswith("partner_api_")
    }

    assert webhook_fixtures == {*CHANNEL_FIXTURES, "client_created"}


@pytest.mark.parametrize("name", sorted(CHANNEL_FIXTURES))
def test_channel_fixture_parses_into_a_channel_event(name):
    event_id, status, billing_started_at, waba_status = CHANNEL_FIXTURES[name]

    event = parse_event(load_payload(fixture_bytes(name)))

    assert event == ChannelEvent(
        type=name,
        event_id=event_id,
        channel=ChannelInfo(
            id="y9MiLoCH",
            client_id="oaY9LLfUCL",
            status=status,
            account_mode="live",
            created_at=CREATED_AT,
            billing_started_at=billing_started_at,
            terminated_at=None,
            phone_number="4915112345678",
            phone_name="Acme Bakery",
            waba_id="104996122399160",
            waba_status=waba_status,
            client_name="Acme Bakery GmbH",
            client_email="owner@acme-bakery.example",
        ),
    )


@pytest.mark.parametrize("name", sorted(CHANNEL_FIXTURES))
def test_channel_fixture_times_are_aware_utc(name):
    info = parse_channel_event(load_payload(fixture_bytes(name))).channel

    assert info.created_at is not None
    assert info.created_at.utcoffset() == timedelta(0)
    if info.billing_started_at is not None:
        assert info.billing_started_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize("name", sorted(CHANNEL_FIXTURES))
def test_channel_fixture_keeps_the_raw_channel_object(name):
    payload = json.loads(fixture_bytes(name))

    assert parse_channel_event(load_payload(fixture_bytes(name))).channel.raw == payload["data"]


def test_client_created_fixture_parses_into_a_client_event():
    event = parse_event(load_payload(fixture_bytes("client_created")))

    assert event == ClientEvent(
        type="client_created",
        event_id="evt_01HZX3K2Q0",
        client=ClientInfo(
            id="oaY9LLfUCL",
            name="Acme Bakery GmbH",
            status="active",
            partner_payload="crm-4711",
            email="owner@acme-bakery.example",
            full_name="Ada Baker",
            language="de",
            country="DE",
        ),
    )
    assert isinstance(event, ClientEvent)
    assert event.client.raw == json.loads(fixture_bytes("client_created"))["data"]["client"]


# --- load_payload ---------------------------------------------------------------------------


def test_load_payload_returns_the_json_object():
    assert load_payload(b'{"event": "x", "data": {"id": 1}}') == {"event": "x", "data": {"id": 1}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "^body is not valid JSON: "),
        (b"", "^body is not valid JSON: "),
        (b'{"event": "channel_live",', "^body is not valid JSON: "),
        (b'{"event": "\xff"}', "^body is not valid JSON: "),
        (b'{"event": "caf\xe9"}', "^body is not valid JSON: "),
        (b"[]", "^body must be a JSON object, got list$"),
        (b'[{"event": "channel_live"}]', "^body must be a JSON object, got list$"),
        (b'"channel_live"', "^body must be a JSON object, got str$"),
        (b"42", "^body must be a JSON object, got int$"),
        (b"null", "^body must be a JSON object, got NoneType$"),
    ],
)
def test_load_payload_rejects_a_body_that_is_not_a_json_object(body, message):
    with pytest.raises(PayloadError, match=message):
        load_payload(body)


@pytest.mark.parametrize(
    "body", [b"[" * 100_000, b'{"a":' * 100_000], ids=["nested-arrays", "nested-objects"]
)
def test_load_payload_rejects_a_deeply_nested_body(body):
    with pytest.raises(PayloadError, match=r"^body is not valid JSON"):
        load_payload(body)


# --- parse_event: event name and id -----------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        {"data": channel()},
        {"event": None, "data": channel()},
        {"event": "", "data": channel()},
        {"event": "   ", "data": channel()},
        {"event": 7, "data": channel()},
        {"event": ["channel_live"], "data": channel()},
    ],
)
def test_parse_event_rejects_a_missing_or_non_string_event(payload):
    with pytest.raises(PayloadError, match=r"^event is missing or not a string$"):
        parse_event(payload)


def test_parse_event_trims_the_event_name():
    event = parse_event({"event": " channel_live\n", "data": channel()})

    assert (type(event), event.type) == (ChannelEvent, "channel_live")


@pytest.mark.parametrize(
    "data",
    [
        {"id": "x", "anything": [1, 2]},
        [1, 2, 3],
        "text",
        None,
        42,
    ],
)
def test_parse_event_keeps_an_unknown_event_raw(data):
    event = parse_event({"id": "evt1", "event": "phone_number_quality_changed", "data": data})

    assert event == UnknownEvent("phone_number_quality_changed", "evt1", data)
    assert isinstance(event, UnknownEvent)
    assert event.data is data


def test_parse_event_keeps_an_unknown_event_without_data():
    assert parse_event({"event": "something_new"}) == UnknownEvent("something_new", None, None)


def test_parse_event_event_names_are_case_sensitive():
    event = parse_event({"event": "Channel_Live", "data": "not a channel"})

    assert event == UnknownEvent("Channel_Live", None, "not a channel")


@pytest.mark.parametrize(
    ("payload_id", "expected"),
    [
        ("evt_01HZX3K2Q5", "evt_01HZX3K2Q5"),
        (12345, "12345"),
        (0, "0"),
        ("", None),
        (None, None),
        ("x" * 200, "x" * 200),
    ],
)
def test_parse_event_id(payload_id, expected):
    assert parse_event({"id": payload_id, "event": "x"}).event_id == expected


def test_parse_event_without_an_id():
    assert parse_event({"event": "channel_live", "data": channel()}).event_id is None


@pytest.mark.parametrize(
    ("payload_id", "message"),
    [
        ("x" * 201, "^id is longer than 200 characters$"),
        (10**201, "^id is longer than 200 characters$"),
        (True, "^id must be a string, got bool$"),
        (1.5, "^id must be a string, got float$"),
        (["evt1"], "^id must be a string, got list$"),
        ({"v": 1}, "^id must be a string, got dict$"),
    ],
)
def test_parse_event_rejects_a_bad_id(payload_id, message):
    with pytest.raises(PayloadError, match=message):
        parse_event({"id": payload_id, "event": "something_new", "data": None})


# --- parse_event: channel events --------------------------------------------------------------


@pytest.mark.parametrize("name", CHANNEL_EVENT_NAMES)
def test_parse_event_channel_events(name):
    event = parse_event({"id": "e1", "event": name, "data": channel()})

    assert event == ChannelEvent(
        name, "e1", ChannelInfo(id="y9MiLoCH", client_id="oaY9LLfUCL", status="ready")
    )


def test_parse_event_channel_permission_revoked_is_a_channel_event():
    event = parse_event({"event": "channel_permission_revoked", "data": channel(status="running")})

    assert event == ChannelEvent(
        "channel_permission_revoked",
        None,
        ChannelInfo(id="y9MiLoCH", client_id="oaY9LLfUCL", status="running"),
    )


def test_parse_event_channel_takes_the_client_id_from_the_client_object():
    data = {"id": "y9MiLoCH", "client": {"id": "oaY9LLfUCL", "name": "Acme"}}

    event = parse_channel_event({"event": "channel_created", "data": data})

    assert event.channel == ChannelInfo(id="y9MiLoCH", client_id="oaY9LLfUCL", client_name="Acme")


def test_parse_event_channel_accepts_numeric_ids_and_phone_numbers():
    data = {"id": 12345, "client_id": 678, "setup_info": {"phone_number": 4915112345678}}

    event = parse_channel_event({"event": "channel_created", "data": data})

    assert event.channel == ChannelInfo(id="12345", client_id="678", phone_number="4915112345678")


def test_parse_event_channel_ignores_fields_it_does_not_know():
    event = parse_channel_event({"event": "channel_live", "data": channel(new_field={"x": 1})})

    assert event.channel == ChannelInfo(id="y9MiLoCH", client_id="oaY9LLfUCL", status="ready")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-20T09:14:03Z", CREATED_AT),
        ("2026-11-20T09:14:03+00:00", CREATED_AT),
        ("2026-11-20T10:14:03+01:00", CREATED_AT),
        ("2026-11-20T09:14:03.000Z", CREATED_AT),
        ("", None),
        (None, None),
    ],
)
def test_parse_event_channel_times(value, expected):
    event = parse_channel_event({"event": "channel_created", "data": channel(created_at=value)})

    assert event.channel.created_at == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, "^data must be an object, got NoneType$"),
        ([channel()], "^data must be an object, got list$"),
        ("y9MiLoCH", "^data must be an object, got str$"),
        ({"client_id": "oaY9LLfUCL"}, re.escape("data.id must be a 360Dialog id") + ".*None$"),
        (channel(id=""), re.escape("data.id must be a 360Dialog id") + ".*''$"),
        (channel(id=None), re.escape("data.id must be a 360Dialog id") + ".*None$"),
        (channel(id="y9Mi-LoCH"), re.escape("data.id must be a 360Dialog id") + ".*'y9Mi-LoCH'$"),
        (channel(id="../admin"), re.escape("data.id must be a 360Dialog id") + r".*'\.\./admin'$"),
        (channel(id="a" * 65), re.escape("data.id must be a 360Dialog id")),
        (channel(id=True), re.escape("data.id must be a 360Dialog id") + ".*True$"),
        (channel(id=["y9MiLoCH"]), re.escape("data.id must be a 360Dialog id")),
        (channel(client_id="oaY9/LLfUCL"), re.escape("data.client_id must be a 360Dialog id")),
        (
            {"id": "y9MiLoCH", "client": {"id": "a b"}},
            re.escape("data.client_id must be a 360Dialog id") + ".*'a b'$",
        ),
        (channel(status=True), "^data.status must be a string, got bool$"),
        (channel(status={"v": 1}), "^data.status must be a string, got dict$"),
        (channel(setup_info="x"), "^data.setup_info must be an object, got str$"),
        (channel(waba_account=[1]), "^data.waba_account must be an object, got list$"),
        (channel(client="oaY9LLfUCL"), "^data.client must be an object, got str$"),
        (
            channel(setup_info={"phone_number": ["1"]}),
            "^data.setup_info.phone_number must be a string, got list$",
        ),
        (
            channel(client={"id": "oaY9LLfUCL", "contact_info": "x"}),
            "^data.client.contact_info must be an object, got str$",
        ),
    ],
)
def test_parse_event_channel_rejects_bad_data_naming_the_field(data, message):
    with pytest.raises(PayloadError, match=message):
        parse_event({"event": "channel_live", "data": data})


def test_parse_event_channel_without_data():
    with pytest.raises(PayloadError, match=r"^data must be an object, got NoneType$"):
        parse_event({"event": "channel_ready"})


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("created_at", "2026-11-20T09:14:03", datetime(2026, 11, 20, 9, 14, 3, tzinfo=UTC)),
        ("created_at", "2026-11-20", datetime(2026, 11, 20, tzinfo=UTC)),
        ("created_at", 1763630043, datetime(2025, 11, 20, 9, 14, 3, tzinfo=UTC)),
        ("created_at", "2026-11-20T10:14:03+01:00", datetime(2026, 11, 20, 9, 14, 3, tzinfo=UTC)),
        (
            "billing_started_at",
            "2026-11-20 09:31:40",
            datetime(2026, 11, 20, 9, 31, 40, tzinfo=UTC),
        ),
        ("created_at", "yesterday", None),
        ("created_at", "2026-13-20T09:14:03Z", None),
        ("billing_started_at", "garbage", None),
        ("terminated_at", "20.11.2026", None),
        ("terminated_at", [2026], None),
        ("terminated_at", True, None),
        ("terminated_at", 10**30, None),
    ],
)
def test_parse_event_channel_reads_times_loosely(field, value, expected):
    # Times are only shown: a zone-less time is UTC, a number is unix seconds, and one that
    # cannot be read is None (the raw data keeps it) rather than a rejected webhook.
    event = parse_event({"event": "channel_running", "data": channel(**{field: value})})

    assert isinstance(event, ChannelEvent)
    assert getattr(event.channel, field) == expected
    assert event.channel.raw[field] == value


@pytest.mark.parametrize("name", NOTICE_EVENT_NAMES)
def test_parse_event_notice_events_with_a_channel_object(name):
    event = parse_event({"id": "e1", "event": name, "data": channel()})

    assert event == ChannelNoticeEvent(
        name,
        "e1",
        "y9MiLoCH",
        ChannelInfo(id="y9MiLoCH", client_id="oaY9LLfUCL", status="ready"),
        channel(),
    )


@pytest.mark.parametrize(
    ("data", "channel_id"),
    [
        ({"channel_id": "y9MiLoCH", "reason": "spam"}, "y9MiLoCH"),
        ({"channel": {"id": "y9MiLoCH"}}, "y9MiLoCH"),
        ({"channel": "y9MiLoCH"}, "y9MiLoCH"),
        ({"id": "not/an/id", "channel_id": "y9MiLoCH"}, "y9MiLoCH"),
        ({"waba_id": "104996122399160"}, ""),
        ({"channel_id": 5}, ""),
        ([], ""),
        (None, ""),
        ("text", ""),
    ],
)
def test_parse_event_notice_events_read_undocumented_data_loosely(data, channel_id):
    event = parse_event({"event": "account_violation", "data": data})

    assert event == ChannelNoticeEvent("account_violation", None, channel_id, None, data)


# --- parse_event: client and template events --------------------------------------------------


def test_parse_event_client_created_where_data_is_the_client_object():
    data = {
        "id": "oaY9LLfUCL",
        "name": "Acme Bakery GmbH",
        "partner_payload": "crm-4711",
        "contact_info": {"email": "owner@acme-bakery.example", "language": "de"},
    }

    event = parse_event({"event": "client_created", "data": data})

    assert event == ClientEvent(
        "client_created",
        None,
        ClientInfo(
            id="oaY9LLfUCL",
            name="Acme Bakery GmbH",
            partner_payload="crm-4711",
            email="owner@acme-bakery.example",
            language="de",
        ),
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, "^data must be an object, got NoneType$"),
        (["oaY9LLfUCL"], "^data must be an object, got list$"),
        ({"client": "oaY9LLfUCL"}, "^data.client must be an object, got str$"),
        ({"client": None}, "^data.client must be an object, got NoneType$"),
        (
            {"client": {"id": "oaY9-LLfUCL"}},
            re.escape("data.client.id must be a 360Dialog id") + ".*'oaY9-LLfUCL'$",
        ),
        ({"client": {"name": "Acme"}}, re.escape("data.client.id must be a 360Dialog id")),
        (
            {"client": {"id": "oaY9LLfUCL", "contact_info": ["owner@acme-bakery.example"]}},
            "^data.client.contact_info must be an object, got list$",
        ),
        (
            {"client": {"id": "oaY9LLfUCL", "partner_payload": 1.5}},
            "^data.client.partner_payload must be a string, got float$",
        ),
    ],
)
def test_parse_event_client_created_rejects_bad_data_naming_the_field(data, message):
    with pytest.raises(PayloadError, match=message):
        parse_event({"event": "client_created", "data": data})


def test_parse_event_client_created_error_names_data_id_when_data_is_the_client():
    with pytest.raises(PayloadError, match=r"^data\.id must be a 360Dialog id"):
        parse_event({"event": "client_created", "data": {"id": "oaY9-LLfUCL", "name": "Acme"}})


def test_parse_event_template_status_changed():
    data = {"channel_id": "y9MiLoCH", "name": "order_update", "status": "APPROVED", "x": 1}

    event = parse_event({"id": "t1", "event": "waba_template_status_changed", "data": data})

    assert event == TemplateEvent(
        "waba_template_status_changed",
        "t1",
        channel_id="y9MiLoCH",
        template_name="order_update",
        status="APPROVED",
        data=data,
    )


def test_parse_event_template_name_falls_back_to_template_name():
    data = {"channel_id": "y9MiLoCH", "template_name": "order_update", "status": "REJECTED"}

    event = parse_event({"event": "waba_template_status_changed", "data": data})

    assert isinstance(event, TemplateEvent)
    assert (event.channel_id, event.template_name, event.status) == (
        "y9MiLoCH",
        "order_update",
        "REJECTED",
    )


def test_parse_event_template_with_empty_data():
    event = parse_event({"event": "waba_template_status_changed", "data": {}})

    assert event == TemplateEvent("waba_template_status_changed", None, "", "", "", {})


@pytest.mark.parametrize(
    "data",
    [None, [], {"status": ["APPROVED"]}, {"channel_id": False}, {"name": {"x": 1}}],
)
def test_parse_event_template_reads_odd_data_loosely(data):
    event = parse_event({"event": "waba_template_status_changed", "data": data})

    assert event == TemplateEvent("waba_template_status_changed", None, "", "", "", data)


def test_phone_numbers_arrive_as_digits_only():
    data = {
        "id": "y9MiLoCH",
        "client_id": "oaY9LLfUCL",
        "setup_info": {"phone_number": "+49 151\r\n1234-5678"},
    }

    event = parse_event({"event": "channel_created", "data": data})

    assert isinstance(event, ChannelEvent)
    assert event.channel.phone_number == "4915112345678"
