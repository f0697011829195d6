"""A client for the simulator's control endpoints (/_sim/...), for tests and the demo."""

from __future__ import annotations

import time
from typing import Any

import httpx


class HubSimControl:
    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> HubSimControl:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def api_base_url(self) -> str:
        return f"{self.base_url}/api/v2"

    def healthy(self) -> bool:
        try:
            return self._http.get("/_sim/health").status_code == 200
        except httpx.HTTPError:
            return False

    def reset(self) -> None:
        self._call("POST", "/_sim/reset")

    def partner(self, **values: Any) -> dict[str, Any]:
        """Register or update a simulated partner (partner_id, api_key, platform_secret,
        payment_mode, require_io_signature, io_signature_encoding, webhook_url, ...)."""
        return self._call("POST", "/_sim/partners", values)

    def faults(self, **changes: Any) -> dict[str, Any]:
        return self._call("POST", "/_sim/faults", changes)

    def state(self) -> dict[str, Any]:
        return self._call("GET", "/_sim/state")

    def channel(self, channel_id: str) -> dict[str, Any]:
        return self._call("GET", f"/_sim/channels/{channel_id}")

    def onboard(self, **values: Any) -> dict[str, Any]:
        """A client signs up without the browser: partner_id, email, name, numbers."""
        return self._call("POST", "/_sim/onboard", values)

    def permission(self, channel_id: str, *, granted: bool) -> dict[str, Any]:
        return self._call("POST", f"/_sim/channels/{channel_id}/permission", {"granted": granted})

    def advance(self, channel_id: str, to: str | None = None) -> dict[str, Any]:
        return self._call("POST", f"/_sim/channels/{channel_id}/advance", {"to": to})

    def send_event(self, **values: Any) -> None:
        self._call("POST", "/_sim/events", values)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Until every lifecycle step ran and every webhook was sent (and answered)."""
        deadline = time.monotonic() + timeout
        while not self._call("GET", "/_sim/idle")["idle"]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the hub simulator is still busy after {timeout:.0f}s")
            time.sleep(0.05)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self._http.request(method, path, json=body)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: HTTP {response.status_code}: {response.text}")
        result: dict[str, Any] = response.json()
        return result
