"""Partner webhooks from the simulator, received by a real HTTP server, with each fault."""

from __future__ import annotations

from collections import Counter

import pytest

from dialog360.events import ChannelEvent, ClientEvent, parse_event
from dialog360.signatures import verify_webhook
from hubsim.tests.conftest import PARTNER_ID, SECRET

NUMBER = "4915112345678"
PARTNER_PAYMENT_ORDER = [
    "client_created",
    "channel_created",
    "channel_submitted",
    "channel_ready",
    "channel_running",
    "channel_live",
]
DIRECT_PAYMENT_ORDER = [
    "client_created",
    "channel_created",
    "channel_submitted",
    "channel_ready",
    "channel_permission_granted",
    "channel_running",
    "channel_live",
]


def onboard(hubsim, **extra):
    return hubsim.onboard(
        partner_id=PARTNER_ID, email="ada@acme.example", name="Ada", numbers=[NUMBER], **extra
    )


def test_a_grant_sends_the_lifecycle_in_order_signed(hubsim, partner, sink):
    onboarded = onboard(hubsim, partner_payload="crm-4711")
    hubsim.wait_idle()

    received = sink.received
    assert [item.event for item in received] == PARTNER_PAYMENT_ORDER
    for item in received:
        assert item.headers["content-type"] == "application/json"
        assert verify_webhook(item.body, item.headers["x-360dialog-signature"], [SECRET])
    events = [parse_event(item.payload) for item in received]
    assert isinstance(events[0], ClientEvent)
    assert events[0].client.id == onboarded["client_id"]
    assert events[0].client.partner_payload == "crm-4711"
    channel_events = [event for event in events if isinstance(event, ChannelEvent)]
    assert {event.channel.id for event in channel_events} == set(onboarded["channel_ids"])
    assert [event.channel.status for event in channel_events] == [
        "created",
        "submitted",
        "ready",
        "running",
        "live",
    ]
    assert channel_events[0].channel.phone_number == NUMBER
    assert len({event.event_id for event in events}) == 6  # one id per event


def test_direct_payment_announces_the_permission_after_ready(hubsim, partner, sink):
    hubsim.partner(partner_id=PARTNER_ID, payment_mode="direct")
    onboard(hubsim)
    hubsim.wait_idle()

    assert sink.events() == DIRECT_PAYMENT_ORDER
    granted = sink.received[4].payload
    assert granted["data"]["status"] == "ready"


def test_duplicates_repeat_each_body_exactly(hubsim, partner, sink):
    hubsim.faults(duplicate_webhooks=True)
    onboard(hubsim)
    hubsim.wait_idle()

    assert sink.events() == [name for name in PARTNER_PAYMENT_ORDER for _ in range(2)]
    bodies = [item.body for item in sink.received]
    assert bodies[0::2] == bodies[1::2]


def test_reverse_order(hubsim, partner, sink):
    hubsim.faults(webhook_order="reverse")
    onboard(hubsim)
    hubsim.wait_idle()

    assert sink.events() == PARTNER_PAYMENT_ORDER[::-1]
    # The hub itself moved forward: the last delivery (client_created) came after channel_live.
    assert sink.received[0].payload["data"]["status"] == "live"


def test_shuffled_order_delivers_every_event_once(hubsim, partner, sink):
    hubsim.faults(webhook_order="shuffle", seed=7)
    onboard(hubsim)
    hubsim.wait_idle()

    events = sink.events()
    assert sorted(events) == sorted(PARTNER_PAYMENT_ORDER)
    assert events != PARTNER_PAYMENT_ORDER


def test_dropped_events_are_never_sent(hubsim, partner, sink):
    hubsim.faults(drop_events=["channel_running", "client_created"])
    onboarded = onboard(hubsim)
    hubsim.wait_idle()

    assert sink.events() == [
        "channel_created",
        "channel_submitted",
        "channel_ready",
        "channel_live",
    ]
    # Dropped deliveries, not dropped state: the channel still went live.
    assert hubsim.channel(onboarded["channel_ids"][0])["status"] == "live"


def test_dropping_everything(hubsim, partner, sink):
    hubsim.faults(drop_events=["*"])
    [channel_id] = onboard(hubsim)["channel_ids"]
    hubsim.wait_idle()

    assert sink.received == []
    assert hubsim.state()["deliveries"] == []
    assert hubsim.channel(channel_id)["status"] == "live"


@pytest.mark.parametrize(
    ("mode", "check"),
    [
        ("hex", lambda value, expected: value == expected),
        ("sha256", lambda value, expected: value == f"sha256={expected}"),
        ("upper", lambda value, expected: value == expected.upper()),
    ],
)
def test_signature_encodings(hubsim, partner, sink, mode, check):
    from dialog360.signatures import webhook_signature

    hubsim.faults(webhook_signature=mode)
    onboard(hubsim)
    hubsim.wait_idle()

    assert len(sink.received) == 6
    for item in sink.received:
        value = item.headers["x-360dialog-signature"]
        assert check(value, webhook_signature(item.body, SECRET))
        assert verify_webhook(item.body, value, [SECRET])


def test_unsigned_and_wrongly_signed_deliveries(hubsim, partner, sink):
    hubsim.faults(webhook_signature="none")
    onboard(hubsim)
    hubsim.wait_idle()
    assert len(sink.received) == 6
    assert all("x-360dialog-signature" not in item.headers for item in sink.received)

    hubsim.reset()
    hubsim.faults(webhook_delay=0, webhook_signature="wrong")
    hubsim.partner(partner_id=PARTNER_ID, api_key="k", platform_secret=SECRET, webhook_url=sink.url)
    sink.received.clear()
    onboard(hubsim)
    hubsim.wait_idle()
    assert len(sink.received) == 6
    assert not any(
        verify_webhook(item.body, item.headers["x-360dialog-signature"], [SECRET])
        for item in sink.received
    )


def test_bodies_without_event_ids(hubsim, partner, sink):
    hubsim.faults(send_event_ids=False)
    onboard(hubsim)
    hubsim.wait_idle()

    assert sink.events() == PARTNER_PAYMENT_ORDER
    assert all("id" not in item.payload for item in sink.received)


def test_custom_headers_travel_with_every_delivery(hubsim, partner, sink):
    hubsim.partner(partner_id=PARTNER_ID, webhook_headers={"Authorization": "partner-token"})
    onboard(hubsim)
    hubsim.wait_idle()

    assert {item.headers["authorization"] for item in sink.received} == {"partner-token"}


def test_failed_deliveries_are_retried(hubsim, partner, sink):
    hubsim.faults(drop_events=PARTNER_PAYMENT_ORDER[1:])
    sink.statuses = [500, 503]  # the first two answers
    onboard(hubsim)
    hubsim.wait_idle()

    assert sink.events() == ["client_created"] * 3
    [delivery] = hubsim.state()["deliveries"]
    assert [attempt["status"] for attempt in delivery["attempts"]] == [500, 503, 200]


def test_retries_stop_after_the_configured_number(hubsim, partner, sink):
    hubsim.faults(webhook_retries=1, drop_events=PARTNER_PAYMENT_ORDER[1:])
    sink.statuses = [500, 500, 500]
    onboard(hubsim)
    hubsim.wait_idle()

    [delivery] = hubsim.state()["deliveries"]
    assert [attempt["status"] for attempt in delivery["attempts"]] == [500, 500]


def test_an_unreachable_webhook_url_is_recorded_as_a_transport_error(hubsim, partner, sink):
    hubsim.partner(partner_id=PARTNER_ID, webhook_url="http://127.0.0.1:9/unreachable")
    hubsim.faults(webhook_retries=0, drop_events=PARTNER_PAYMENT_ORDER[1:])
    onboard(hubsim)
    hubsim.wait_idle()

    [delivery] = hubsim.state()["deliveries"]
    assert delivery["attempts"] == [{"status": None, "error": "ConnectError"}]


def test_stop_at_halts_the_lifecycle_until_advanced(hubsim, partner, sink):
    hubsim.faults(stop_at="ready")
    [channel_id] = onboard(hubsim)["channel_ids"]
    hubsim.wait_idle()
    assert sink.events() == PARTNER_PAYMENT_ORDER[:4]
    assert hubsim.channel(channel_id)["status"] == "ready"

    hubsim.advance(channel_id, to="running")
    hubsim.wait_idle()
    assert sink.events()[-1] == "channel_running"
    assert hubsim.channel(channel_id)["status"] == "running"

    hubsim.advance(channel_id)
    hubsim.wait_idle()
    assert sink.events() == PARTNER_PAYMENT_ORDER
    assert hubsim.channel(channel_id)["status"] == "live"


def test_permission_withdrawn_and_granted_in_the_client_hub(hubsim, partner, sink):
    hubsim.partner(partner_id=PARTNER_ID, payment_mode="direct")
    [channel_id] = onboard(hubsim)["channel_ids"]
    hubsim.wait_idle()
    sink.received.clear()

    assert hubsim.permission(channel_id, granted=False)["permission"] is False
    assert hubsim.permission(channel_id, granted=False)["permission"] is False  # no change
    hubsim.permission(channel_id, granted=True)
    hubsim.wait_idle()

    assert sink.events() == ["channel_permission_revoked", "channel_permission_granted"]
    assert [item.payload["data"]["id"] for item in sink.received] == [channel_id, channel_id]


def test_any_event_can_be_sent_on_demand(hubsim, partner, sink):
    [channel_id] = onboard(hubsim)["channel_ids"]
    hubsim.wait_idle()
    sink.received.clear()

    hubsim.send_event(partner_id=PARTNER_ID, event="account_violation", channel_id=channel_id)
    hubsim.send_event(partner_id=PARTNER_ID, event="brand_new_event", data={"anything": [1]})
    hubsim.wait_idle()

    assert sink.events() == ["account_violation", "brand_new_event"]
    assert sink.received[0].payload["data"]["id"] == channel_id
    assert sink.received[1].payload["data"] == {"anything": [1]}


def test_a_second_number_for_the_same_client_sends_no_second_client_created(hubsim, partner, sink):
    onboard(hubsim)
    hubsim.onboard(partner_id=PARTNER_ID, email="ADA@acme.example", numbers=["4915100000000"])
    hubsim.wait_idle()

    assert Counter(sink.events())["client_created"] == 1
    assert Counter(sink.events())["channel_live"] == 2
    assert len(hubsim.state()["clients"]) == 1


def test_switching_the_order_back_mid_onboarding_keeps_the_held_order(hubsim, partner, sink):
    hubsim.faults(webhook_order="reverse", stop_at="submitted")
    [channel_id] = onboard(hubsim)["channel_ids"]
    hubsim.wait_idle()
    first = sink.events()

    hubsim.faults(webhook_order="normal", stop_at=None)
    hubsim.advance(channel_id)
    hubsim.wait_idle()

    assert first == ["channel_submitted", "channel_created", "client_created"]
    assert sink.events()[3:] == ["channel_ready", "channel_running", "channel_live"]


def test_nothing_from_before_a_reset_is_delivered_after_it(hubsim, partner, sink):
    # A slow, failing receiver: deliveries queue up and wait for retries.
    sink.statuses = [500] * 50
    sink.delay = 0.2
    hubsim.faults(webhook_retries=5, webhook_retry_delay=0.1)
    onboard(hubsim)
    sink.wait_for_count(1)

    hubsim.reset()
    received_at_reset = len(sink.received)
    # Slow enough that a stale retry (due 0.1 s after the reset) would land among these.
    hubsim.faults(webhook_delay=0.3)
    hubsim.partner(partner_id=PARTNER_ID, api_key="k", platform_secret=SECRET, webhook_url=sink.url)
    sink.statuses = []
    sink.delay = 0
    hubsim.onboard(partner_id=PARTNER_ID, email="new@acme.example", numbers=["4915100000000"])
    hubsim.wait_idle()

    after = [item.payload for item in sink.received[received_at_reset:]]
    assert [payload["event"] for payload in after] == PARTNER_PAYMENT_ORDER
    assert {payload["data"].get("client", payload["data"]).get("id") for payload in after[:1]} == {
        hubsim.state()["clients"][0]["id"]
    }
