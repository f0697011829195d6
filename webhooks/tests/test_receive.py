"""POST /webhooks/360dialog/<token>/: store, answer, never lose, never trust unsigned bytes."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client as HttpClient

from portal.models import Partner
from portal.tenancy import partner_scope
from portal.tests.factories import PartnerFactory
from webhooks.models import UnpublishedEvent, WebhookEvent
from webhooks.tests.helpers import EVENT_FIXTURES, SECRET, body_of, fixture, signed

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner() -> Partner:
    return PartnerFactory.create(platform_secret=SECRET)


def post(partner_or_token, body: bytes, **headers):
    token = getattr(partner_or_token, "webhook_token", partner_or_token)
    return HttpClient().post(
        f"/webhooks/360dialog/{token}/", body, content_type="application/json", **headers
    )


def events(partner) -> list[WebhookEvent]:
    with partner_scope(partner):
        return list(WebhookEvent.objects.order_by("pk"))


@pytest.mark.parametrize("name", EVENT_FIXTURES)
def test_every_fixture_signed_for_real_is_stored_for_the_relay(
    partner, name, django_capture_on_commit_callbacks
):
    body = body_of(fixture(name))

    with django_capture_on_commit_callbacks() as callbacks:
        response = post(partner, body, **signed(body))

    assert response.status_code == 200
    assert response.json() == {"status": "received", "duplicate": False}
    [event] = events(partner)
    assert bytes(event.raw_body) == body
    assert event.payload == fixture(name)
    assert (event.event_type, event.hub_event_id) == (name, fixture(name)["id"])
    assert event.dedupe_key == f"id:{fixture(name)['id']}"
    assert event.status == WebhookEvent.Status.RECEIVED
    # Nothing is sent to the broker by the request: the relay publishes the committed row.
    assert (callbacks, event.enqueued_at) == ([], None)
    assert list(UnpublishedEvent.objects.values_list("event", flat=True)) == [event.pk]


def test_the_sha256_prefix_is_accepted(partner):
    body = body_of(fixture("channel_ready"))
    header = {"HTTP_X_360DIALOG_SIGNATURE": "sha256=" + signed(body)["HTTP_X_360DIALOG_SIGNATURE"]}

    assert post(partner, body, **header).status_code == 200


def test_a_duplicate_answers_200_and_changes_nothing(partner, django_capture_on_commit_callbacks):
    body = body_of(fixture("channel_running"))
    post(partner, body, **signed(body))

    with django_capture_on_commit_callbacks() as callbacks:
        response = post(partner, body, **signed(body))

    assert response.status_code == 200
    assert response.json() == {"status": "duplicate", "duplicate": True}
    assert len(events(partner)) == 1
    assert callbacks == []


def test_the_same_event_id_with_another_body_is_a_duplicate(partner):
    first = fixture("channel_running")
    second = {**first, "data": {**first["data"], "status": "live"}}
    post(partner, body_of(first), **signed(body_of(first)))

    response = post(partner, body_of(second), **signed(body_of(second)))

    assert response.json()["duplicate"] is True
    assert len(events(partner)) == 1


def test_without_an_event_id_the_body_is_the_dedupe_key(partner):
    payload = fixture("channel_ready")
    del payload["id"]
    other = {**payload, "data": {**payload["data"], "status": "running"}}
    for body in (body_of(payload), body_of(payload), body_of(other)):
        post(partner, body, **signed(body))

    stored = events(partner)
    assert len(stored) == 2
    assert all(event.dedupe_key.startswith("sha256:") for event in stored)
    assert all(event.hub_event_id == "" for event in stored)


def test_the_same_event_id_at_two_partners_is_two_events(partner):
    other = PartnerFactory.create(platform_secret=SECRET)
    body = body_of(fixture("channel_live"))

    post(partner, body, **signed(body))
    post(other, body, **signed(body))

    assert len(events(partner)) == len(events(other)) == 1


def test_an_unknown_token_is_404_and_stores_nothing(partner):
    body = body_of(fixture("channel_live"))

    response = post("not-a-token", body, **signed(body))

    assert response.status_code == 404
    assert response.json() == {"error": "unknown webhook URL"}
    assert events(partner) == []


def test_an_inactive_partner_is_404(partner):
    Partner.objects.filter(pk=partner.pk).update(is_active=False)
    body = body_of(fixture("channel_live"))

    assert post(partner, body, **signed(body)).status_code == 404


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_X_360DIALOG_SIGNATURE": "00" * 32}, {"HTTP_X_360DIALOG_SIGNATURE": "nonsense"}],
    ids=["missing", "wrong", "garbage"],
)
def test_a_missing_or_bad_signature_is_401_counted_and_not_stored(partner, headers, caplog):
    body = body_of({**fixture("channel_live"), "data": {"note": "body-marker-xyz"}})
    caplog.set_level(logging.DEBUG)

    response = post(partner, body, **headers)

    assert response.status_code == 401
    assert response.json() == {"error": "missing signature" if not headers else "bad signature"}
    assert events(partner) == []
    partner.refresh_from_db()
    assert partner.webhook_rejected_count == 1
    assert partner.webhook_rejected_at is not None
    assert "body-marker-xyz" not in caplog.text
    assert "webhook rejected" in caplog.text


def test_a_signature_with_another_secret_is_refused(partner):
    body = body_of(fixture("channel_live"))

    assert post(partner, body, **signed(body, "another-secret")).status_code == 401


def test_without_a_platform_secret_deliveries_need_no_signature():
    partner = PartnerFactory.create(platform_secret="")
    body = body_of(fixture("channel_live"))

    assert post(partner, body).status_code == 200
    assert len(events(partner)) == 1


def test_a_body_over_the_cap_is_413_and_not_stored(partner, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 1000
    body = body_of({**fixture("channel_live"), "padding": "x" * 1000})

    response = post(partner, body, **signed(body))

    assert response.status_code == 413
    assert events(partner) == []


def test_a_body_at_the_cap_is_accepted(partner, settings):
    body = body_of(fixture("channel_live"))
    settings.WEBHOOK_MAX_BODY_BYTES = len(body)

    assert post(partner, body, **signed(body)).status_code == 200


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"{not json", "body is not valid JSON"),
        (b"[1, 2]", "body must be a JSON object, got list"),
        (b'{"data": {}}', "event is missing or not a string"),
    ],
)
def test_a_malformed_body_with_a_valid_signature_is_kept_and_marked(
    partner, body, error, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(partner, body, **signed(body))

    assert response.status_code == 200
    assert response.json() == {"status": "malformed", "duplicate": False}
    [event] = events(partner)
    assert event.status == WebhookEvent.Status.MALFORMED
    assert bytes(event.raw_body) == body
    assert event.last_error.startswith(error)
    assert callbacks == []  # nothing to process
    assert not UnpublishedEvent.objects.exists()  # nor for the relay to publish


def test_an_empty_body_is_400(partner):
    response = post(partner, b"", CONTENT_LENGTH="0", **signed(b""))

    assert response.status_code == 400
    assert events(partner) == []


def test_without_a_content_length_the_answer_is_411(partner):
    body = body_of(fixture("channel_live"))

    # The test client always sets CONTENT_LENGTH; a chunked request has none.
    response = post(partner, body, CONTENT_LENGTH="", **signed(body))

    assert response.status_code == 411
    assert events(partner) == []


def test_only_post_is_allowed(partner):
    assert HttpClient().get(f"/webhooks/360dialog/{partner.webhook_token}/").status_code == 405


def test_secret_headers_are_redacted_when_stored(partner):
    body = body_of(fixture("channel_live"))

    post(
        partner,
        body,
        HTTP_AUTHORIZATION="Bearer partner-secret",
        HTTP_X_HUB_PASS="partner-secret",
        HTTP_X_REQUEST_ID="r-1",
        **signed(body),
    )

    [event] = events(partner)
    assert event.headers["authorization"] == "[redacted]"
    assert event.headers["x-hub-pass"] == "[redacted]"
    assert event.headers["x-request-id"] == "r-1"
    assert event.headers["x-360dialog-signature"] == signed(body)["HTTP_X_360DIALOG_SIGNATURE"]
    assert "partner-secret" not in json.dumps(event.headers)
