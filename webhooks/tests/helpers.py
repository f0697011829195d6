"""Webhook bodies for tests: the shared 360Dialog fixtures, signed for real."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dialog360.signatures import webhook_signature

FIXTURES = Path(__file__).resolve().parents[2] / "dialog360" / "tests" / "fixtures"
EVENT_FIXTURES = sorted(
    path.stem for path in FIXTURES.glob("*.json") if not path.stem.startswith("partner_api_")
)
SECRET = "test-platform-secret"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return data


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"HTTP_X_360DIALOG_SIGNATURE": webhook_signature(body, secret)}


def channel_event(
    event: str, *, channel_id: str = "y9MiLoCH", status: str | None = None, event_id: str = ""
) -> dict[str, Any]:
    """A channel webhook like the fixtures, for any event and status."""
    payload = fixture("channel_created")
    payload["event"] = event
    payload["id"] = event_id or f"evt_{event}_{channel_id}"
    payload["data"]["id"] = channel_id
    payload["data"]["status"] = status or event.removeprefix("channel_")
    return payload
