"""Whatever bytes a signed delivery carries, the receiver stores it or refuses it with a
documented 4xx; it never answers 5xx, and every 2xx has its row (PostgreSQL, the real view)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client as HttpClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.models import Partner
from portal.tenancy import partner_scope
from portal.tests.factories import PartnerFactory, webhook_token_of
from webhooks.models import WebhookEvent
from webhooks.tests.helpers import SECRET, signed

pytestmark = pytest.mark.django_db
DOCUMENTED_4XX = {400, 401, 404, 411, 413}
PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture
def partner() -> Partner:
    return PartnerFactory.create(platform_secret=SECRET)


def deliver(partner: Partner, body: bytes) -> dict[str, Any]:
    """Post `body` signed; assert the outcome is a row or a documented refusal."""
    before = _count(partner)
    signature: dict[str, Any] = signed(body)
    response = HttpClient().post(
        f"/webhooks/360dialog/{webhook_token_of(partner)}/",
        body,
        content_type="application/json",
        **signature,
    )
    assert response.status_code < 500
    if response.status_code != 200:
        assert response.status_code in DOCUMENTED_4XX
        assert _count(partner) == before
        return {"status": response.status_code}
    answer: dict[str, Any] = response.json()
    with partner_scope(partner):
        if answer["duplicate"]:
            assert WebhookEvent.objects.count() == before
        else:
            event = WebhookEvent.objects.get(raw_body=body)
            assert event.status == answer["status"]
            assert bytes(event.raw_body) == body
            assert WebhookEvent.objects.count() == before + 1
    return answer


def _count(partner: Partner) -> int:
    with partner_scope(partner):
        return WebhookEvent.objects.count()


@pytest.mark.parametrize(
    "body",
    [
        b'{"event": "channel_created", "id": "e1", "data": {"x": NaN}}',
        b'{"event": "channel_created", "id": "e2", "data": {"x": Infinity}}',
        b'{"event": "channel_created", "id": "e3", "data": {"x": -Infinity}}',
        b'{"event": "channel_created", "id": "e4", "data": {"x": 1e999}}',
        b'{"event": "channel_created", "id": "e5", "data": {"name": "a\\u0000b"}}',
        b'{"event": "channel_created", "id": "e6", "data": {"a\\u0000": 1}}',
        b'{"event": "channel_cre\\u0000ated", "id": "e7"}',
        b'{"event": "channel_created", "id": "e\\u00008"}',
        b'{"event": "channel_created", "id": "e9", "data": {"name": "\\ud800"}}',
        b'{"event": "channel_created", "id": "e10", "data": {"\\udfff": "x"}}',
        b'{"event": "channel_created", "id": "\\ud83d"}',
        b'{"event": "channel_created", "id": "e12", "data": "\xff\xfe"}',
        b"\x00\x00\x00",
        b'{"event": "channel_created", "id": "e14", "data": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    ],
)
def test_unreadable_json_is_stored_as_malformed(partner, body):
    assert deliver(partner, body) == {"status": "malformed", "duplicate": False}
    with partner_scope(partner):
        event = WebhookEvent.objects.get()
    assert (event.payload, event.event_type, event.hub_event_id) == (None, "", "")
    assert event.last_error
    assert "\x00" not in event.last_error


def test_any_bytes_signed_are_stored_or_refused(partner):
    @PROPERTY_SETTINGS
    @given(body=st.binary(max_size=2048))
    def check(body: bytes) -> None:
        deliver(partner, body)

    check()


_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text()
)
json_values = st.recursive(
    _leaves,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
events = st.fixed_dictionaries(
    {"event": st.text(max_size=70) | st.sampled_from(["channel_created", "client_created"])},
    optional={"id": st.text(max_size=210) | st.integers(), "data": json_values},
)


def _encode(value: Any, ascii_only: bool) -> bytes:
    text = json.dumps(value, ensure_ascii=ascii_only, allow_nan=True)
    return text.encode("utf-8", "surrogatepass")


def test_any_json_signed_is_stored_or_refused(partner):
    @PROPERTY_SETTINGS
    @given(value=json_values | events, ascii_only=st.booleans())
    def check(value: Any, ascii_only: bool) -> None:
        deliver(partner, _encode(value, ascii_only))

    check()


def test_a_header_with_a_nul_character_is_stored_without_it(partner):
    body = b'{"event": "channel_created", "id": "e-header"}'
    signature: dict[str, Any] = signed(body)
    response = HttpClient().post(
        f"/webhooks/360dialog/{partner.webhook_token}/",
        body,
        content_type="application/json",
        HTTP_USER_AGENT="hub\x00sim",
        **signature,
    )

    assert response.status_code == 200
    with partner_scope(partner):
        assert WebhookEvent.objects.get().headers["user-agent"] == "hubsim"
