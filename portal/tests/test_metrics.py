"""GET /metrics: Prometheus text behind a bearer token, with what the webhook path counted and
what the database says."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import respx
from django.test import Client as HttpClient
from prometheus_client import CONTENT_TYPE_LATEST

from dialog360.api import PartnerApiClient
from portal.tests.factories import PartnerFactory, webhook_token_of
from webhooks.tests.helpers import SECRET, body_of, fixture, signed

pytestmark = pytest.mark.django_db
TOKEN = "metrics-test-token"


def scrape(token: str | None = TOKEN) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return HttpClient().get("/metrics", headers=headers)


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match and ",".join(sorted((match.group(1) or "").split(","))) == wanted:
            return float(match.group(2))
    return 0.0


def test_metrics_are_off_without_a_token(settings):
    settings.METRICS_TOKEN = ""

    assert scrape().status_code == 404


@pytest.mark.parametrize("given", [None, "wrong", f"{TOKEN}x"])
def test_a_missing_or_wrong_bearer_token_is_refused(settings, given):
    settings.METRICS_TOKEN = TOKEN

    response = scrape(given)

    assert response.status_code == 401
    assert b"portal_" not in response.content


def test_webhook_answers_and_waiting_events_are_counted(settings):
    settings.METRICS_TOKEN = TOKEN
    acme = PartnerFactory.create(slug="acme", platform_secret=SECRET)
    before = scrape().content.decode()
    body = body_of(fixture("channel_ready"))
    url = f"/webhooks/360dialog/{webhook_token_of(acme)}/"

    good = signed(body)["HTTP_X_360DIALOG_SIGNATURE"]
    for signature in (good, good, "00"):
        HttpClient().post(
            url,
            body,
            content_type="application/json",
            headers={"x-360dialog-signature": signature},
        )
    response = scrape()
    after = response.content.decode()

    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPE_LATEST  # Prometheus's text format
    for outcome, more in (("stored", 1), ("duplicate", 1), ("401", 1), ("malformed", 0)):
        name = "portal_webhook_deliveries_total"
        assert sample(after, name, outcome=outcome) - sample(before, name, outcome=outcome) == more
    count = "portal_webhook_ack_seconds_count"
    assert sample(after, count) - sample(before, count) == 3
    assert sample(after, "portal_webhook_events_waiting", partner="acme", status="received") == 1
    assert sample(after, "portal_webhook_rejected", partner="acme") == 1
    assert sample(after, "portal_webhook_oldest_unprocessed_seconds") > 0


@respx.mock
def test_every_partner_api_call_is_observed_with_its_outcome():
    seen: list[tuple[str, str, str]] = []
    base = "https://hub.test/api/v2"
    respx.get(f"{base}/partners/aAbBcCPA/channels/ch1/api_keys").mock(
        return_value=httpx.Response(200, json={"api_keys": []})
    )
    respx.post(f"{base}/partners/aAbBcCPA/channels/ch1/api_keys").mock(
        side_effect=httpx.ConnectError("refused")
    )
    client = PartnerApiClient(
        base_url=base,
        partner_id="aAbBcCPA",
        api_key="k",
        observe=lambda operation, outcome, seconds, error: seen.append((operation, outcome, error)),
    )

    client.list_api_keys("ch1")
    with pytest.raises(Exception, match="transport failed"):
        client.create_api_key("ch1")

    assert seen == [
        ("list_api_keys", "200", ""),
        ("create_api_key", "transport", "transport failed (ConnectError)"),
    ]
