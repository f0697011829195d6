"""A webhook receiver for the simulator's tests: a real HTTP server on loopback that records
every delivery and answers with scripted statuses (200 once the script runs out)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from conftest import wait_for

PARTNER_ID = "aAbBcCPA"
API_KEY = "sim-partner-api-key"
SECRET = "sim-platform-secret"


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]

    @property
    def payload(self) -> Any:
        return json.loads(self.body)

    @property
    def event(self) -> str:
        return str(self.payload["event"])


@dataclass
class WebhookSink:
    url: str
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    delay: float = 0.0  # seconds before each answer
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> list[str]:
        with self.lock:
            return [item.event for item in self.received]

    def wait_for_count(self, count: int) -> list[Received]:
        wait_for(lambda: len(self.received) >= count, timeout=15, what=f"{count} webhooks")
        with self.lock:
            return list(self.received)


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    state = WebhookSink(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if state.delay:
                time.sleep(state.delay)
            with state.lock:
                state.received.append(
                    Received(body, {k.lower(): v for k, v in self.headers.items()})
                )
                status = state.statuses.pop(0) if state.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/webhooks/360dialog/token/"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def partner(hubsim, sink):
    """A Partner Payment partner whose webhooks go to the sink."""
    return hubsim.partner(
        partner_id=PARTNER_ID,
        api_key=API_KEY,
        platform_secret=SECRET,
        payment_mode="partner",
        webhook_url=sink.url,
    )
