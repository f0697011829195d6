"""Nothing received is lost: not when the broker goes down in a burst, not when a worker is
killed in the middle of an event. Each test runs its own Redis, web server (gunicorn) and
worker processes on the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.db import connection, transaction

from channels.models import Channel
from clients.models import TimelineEntry
from conftest import (
    ROOT,
    _test_database_url,
    celery_worker_command,
    free_port,
    stop_process,
    wait_for,
)
from dialog360.signatures import webhook_signature
from portal.models import Partner
from portal.tenancy import partner_scope
from portal.tests.factories import PartnerFactory, webhook_token_of
from webhooks.models import WebhookEvent
from webhooks.tests.helpers import SECRET, body_of, channel_event

# The stack runs its own relay: the session's one must not take the test's rows.
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("session_relay_paused")]
DONE = (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED)


class Stack:
    """A private Redis, a gunicorn web server, Celery workers and the relay, all on the test
    database."""

    def __init__(self, tmp_path: Path) -> None:
        self.redis_port = free_port()
        self.web_port = free_port()
        self.logs = tmp_path
        self.env = {
            **os.environ,
            "DATABASE_URL": _test_database_url(),
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "WEBHOOK_SWEEP_AFTER_SECONDS": "0",
            "WEB_CONCURRENCY": "2",
            "PYTHONUNBUFFERED": "1",
        }
        self.processes: list[subprocess.Popen[bytes]] = []
        self.redis: subprocess.Popen[bytes] | None = None
        self.closing = threading.Event()
        self.supervisor: threading.Thread | None = None

    def start_redis(self) -> None:
        self.redis = self._spawn(
            "redis",
            [
                "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        )
        wait_for(self._redis_answers, timeout=20, what="the private Redis")

    def stop_redis(self) -> None:
        assert self.redis is not None
        stop_process(self.redis, timeout=10)
        self.redis = None

    def start_web(self) -> None:
        self._spawn(
            "web",
            [
                sys.executable,
                "-m",
                "gunicorn",
                "portal.wsgi",
                "--bind",
                f"127.0.0.1:{self.web_port}",
                "--threads",
                "4",
            ],
        )
        wait_for(self._web_answers, timeout=60, what="the web server")

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        worker = self._spawn(
            name,
            celery_worker_command(
                "--pool",
                "solo",
                "-n",
                f"{name}@%h",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "INFO",
            ),
        )
        return worker

    def start_supervised_worker(self, name: str) -> None:
        """The worker as Docker Compose runs it (`restart: unless-stopped`): started again
        whenever it exits, until the stack closes. Celery's Redis transport can stop the
        worker when the broker goes away while a message is being acknowledged
        ("Unrecoverable error: AttributeError ... 'hostname'"); the README asks for a
        supervisor for that reason."""

        def supervise() -> None:
            while not self.closing.is_set():
                worker = self.start_worker(name)
                while worker.poll() is None and not self.closing.is_set():
                    self.closing.wait(0.2)

        self.supervisor = threading.Thread(target=supervise, name=f"supervise {name}")
        self.supervisor.start()

    def start_relay(self) -> subprocess.Popen[bytes]:
        return self._spawn("relay", [sys.executable, "manage.py", "relay"])

    def manage(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout

    def post(self, partner: Partner, payload: dict[str, Any]) -> int:
        body = body_of(payload)
        response = httpx.post(
            f"http://127.0.0.1:{self.web_port}/webhooks/360dialog/{webhook_token_of(partner)}/",
            content=body,
            headers={
                "Content-Type": "application/json",
                "x-360dialog-signature": webhook_signature(body, SECRET),
            },
            timeout=10,
        )
        return response.status_code

    def close(self) -> None:
        self.closing.set()
        if self.supervisor is not None:
            self.supervisor.join()
        for process in reversed(self.processes):
            if process.poll() is None:
                stop_process(process, timeout=20)

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("ab") as out:
            process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        self.processes.append(process)
        return process

    def _redis_answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.redis_port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def _web_answers(self) -> bool:
        try:
            return (
                httpx.get(f"http://127.0.0.1:{self.web_port}/healthz", timeout=1).status_code == 200
            )
        except httpx.HTTPError:
            return False


@contextmanager
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp_path)
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def partner(transactional_db) -> Partner:
    # No Partner API key: these tests are about webhooks, not about creating keys.
    return PartnerFactory.create(platform_secret=SECRET, api_key="")


def statuses(partner) -> dict[str, int]:
    with partner_scope(partner):
        counts: dict[str, int] = {}
        for status in WebhookEvent.objects.values_list("status", flat=True):
            counts[status] = counts.get(status, 0) + 1
        return counts


def test_a_burst_of_500_webhooks_survives_the_broker_going_down(partner, tmp_path):
    payloads = [
        channel_event(event, channel_id=f"ch{n:04d}")
        for n in range(100)
        for event in (
            "channel_created",
            "channel_submitted",
            "channel_ready",
            "channel_running",
            "channel_live",
        )
    ]
    with stack(tmp_path) as running:
        running.start_redis()
        running.start_web()
        running.start_supervised_worker("burst")
        running.start_relay()
        with ThreadPoolExecutor(max_workers=8) as pool:
            first = list(pool.map(lambda p: running.post(partner, p), payloads[:200]))
            running.stop_redis()
            rest = list(pool.map(lambda p: running.post(partner, p), payloads[200:]))

        # Every delivery was stored and answered while the broker was away; the relay could
        # publish none of the later ones.
        assert first + rest == [200] * 500
        assert sum(statuses(partner).values()) == 500
        running.start_redis()  # empty: whatever was queued before the stop is gone
        # The relay publishes what it could not (it retries on its own); the sweep enqueues
        # again what the stopped Redis lost.
        running.manage("webhooks_sweep")

        def all_done() -> bool:
            counts = statuses(partner)
            return sum(counts.get(status, 0) for status in DONE) == 500

        wait_for(all_done, timeout=240, what="all 500 webhooks to be processed")
    with partner_scope(partner):
        assert Channel.objects.count() == 100
        assert set(Channel.objects.values_list("status", flat=True)) == {"live"}


def backends_waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        # Inside a transaction pg_stat_activity is a snapshot: take a fresh one each time.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


def test_a_worker_killed_mid_event_leaves_it_processed_exactly_once(partner, tmp_path):
    with stack(tmp_path) as running:
        running.start_redis()
        running.start_web()
        first_worker = running.start_worker("doomed")
        running.start_relay()
        assert running.post(partner, channel_event("channel_created", channel_id="killme1")) == 200
        wait_for(lambda: statuses(partner) == {"processed": 1}, what="the first event")

        with transaction.atomic():
            # Hold the channel's row: the worker stops inside the next event, holding its row.
            with partner_scope(partner):
                Channel.objects.select_for_update().get(hub_channel_id="killme1")
            assert (
                running.post(partner, channel_event("channel_ready", channel_id="killme1")) == 200
            )
            wait_for(lambda: backends_waiting_for_a_lock() >= 1, what="the worker to block")
            first_worker.send_signal(signal.SIGKILL)
            first_worker.wait(timeout=10)
        # The killed worker's transaction never committed.
        wait_for(lambda: backends_waiting_for_a_lock() == 0, what="the dead worker's backend")
        assert statuses(partner) == {"processed": 1, "received": 1}

        running.start_worker("survivor")
        running.manage("webhooks_sweep")
        wait_for(lambda: statuses(partner) == {"processed": 2}, timeout=60, what="the event")
        running.manage("webhooks_sweep")  # a second sweep finds nothing to do

    with partner_scope(partner):
        event = WebhookEvent.objects.get(event_type="channel_ready")
        changes = list(
            TimelineEntry.objects.filter(kind=TimelineEntry.Kind.STATUS).values_list(
                "message", flat=True
            )
        )
        assert Channel.objects.get().status == "ready"
    assert event.attempts == 1
    assert changes == ["+4915112345678: created → ready."]
