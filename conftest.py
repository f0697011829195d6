"""Fixtures shared by every app's tests: real services, a real Celery worker."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest

from scripts.check_services import unreachable_services

if TYPE_CHECKING:
    from hubsim.control import HubSimControl

ROOT = Path(__file__).resolve().parent


def pytest_sessionstart(session: pytest.Session) -> None:
    problems = unreachable_services(os.environ["DATABASE_URL"], os.environ["REDIS_URL"])
    if problems:
        pytest.exit("\n".join(problems), returncode=3)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate, *, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    """Poll until `predicate()` is truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def celery_worker_command(*options: str) -> list[str]:
    """A Celery worker of the portal on every queue; `options` add to it."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "portal",
        "worker",
        "-Q",
        "default,webhooks,hub,outbound",
        *options,
    ]


def worker_idle(node: str) -> bool:
    """Nothing left for the relay to publish or fan out, nothing queued in Redis, and nothing
    running or reserved on the worker `node`."""
    from django.db import connection as database

    from portal.celery import app

    with database.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM webhooks_unpublishedevent) "
            "OR EXISTS (SELECT 1 FROM events_domainevent WHERE relayed_at IS NULL)"
        )
        if cursor.fetchone()[0] or _relay_in_a_transaction():
            return False

    with app.connection_for_write() as connection:
        client = connection.default_channel.client  # type: ignore[attr-defined]
        if any(client.llen(queue) for queue in ("default", "webhooks", "hub", "outbound")):
            return False
    inspect = app.control.inspect(destination=[node], timeout=1.0)
    for tasks in (inspect.active(), inspect.reserved(), inspect.scheduled()):
        if tasks is None or any(tasks.values()):
            return False
    return True


@pytest.fixture(autouse=True)
def _fresh_webhook_partners() -> Iterator[None]:
    """Each test starts with no partner remembered by the webhook path (webhooks/partners.py),
    as a newly started process does."""
    from webhooks.partners import webhook_partners_forget

    webhook_partners_forget()
    yield


@pytest.fixture
def settled_worker(transactional_db, celery_worker):
    """The worker, waited for at the end of the test until it has nothing left to do, so that
    the test database is not flushed under its feet."""
    yield celery_worker
    wait_for(lambda: worker_idle(celery_worker.node), timeout=60, what="the worker to finish")


def stop_process(process: subprocess.Popen[bytes], *, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it has not stopped within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _test_database_url() -> str:
    """The URL of the database the tests run against (pytest-django's test database)."""
    from django.db import connection

    db = connection.settings_dict
    host = quote(db["HOST"], safe="")  # a Unix socket folder is a path
    return f"postgres://{db['USER']}@{host}:{db['PORT']}/{db['NAME']}"


@pytest.fixture(scope="session")
def hubsim_process() -> Iterator[str]:
    """A real hub simulator (`manage.py hubsim`) on a free port; yields its base URL."""
    from hubsim.control import HubSimControl

    port = free_port()
    log = ROOT / "var" / "test-hubsim.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "hubsim", "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        with HubSimControl(base_url) as control:
            wait_for(control.healthy, timeout=30, what=f"the hub simulator (log: {log})")
        yield base_url
    finally:
        stop_process(process, timeout=10)


@pytest.fixture
def hubsim(hubsim_process: str) -> Iterator[HubSimControl]:
    """The simulator, reset, with fast lifecycles (no delay between steps or retries)."""
    from hubsim.control import HubSimControl

    with HubSimControl(hubsim_process) as control:
        control.reset()
        control.faults(webhook_delay=0, webhook_retry_delay=0.05)
        yield control


# The relay started with the session's worker, once a test asked for it; its connections carry
# this application name, so a pause can wait until it holds no transaction.
SESSION_RELAYS: list[subprocess.Popen[bytes]] = []
SESSION_RELAY_NAME = "portal-test-session-relay"
# The suite's worker runs as on cores shared with the web server (WORKER_NICE).
SESSION_WORKER_NICE = 10
_paused: list[subprocess.Popen[bytes]] = []


def _relay_in_a_transaction() -> bool:
    import psycopg

    with psycopg.connect(_test_database_url(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND state <> 'idle'",
            [SESSION_RELAY_NAME],
        ).fetchone()
    return bool(row and row[0])


def _pause_session_relays() -> None:
    """SIGSTOP the session's relays between two passes (never inside a transaction)."""
    for relay in [relay for relay in SESSION_RELAYS if relay.poll() is None]:
        if relay in _paused:
            continue
        for _attempt in range(100):
            relay.send_signal(signal.SIGSTOP)
            if not _relay_in_a_transaction():
                break
            relay.send_signal(signal.SIGCONT)  # mid-pass: let it finish
            time.sleep(0.05)
        _paused.append(relay)


@pytest.fixture
def session_relay_paused(transactional_db) -> Iterator[None]:
    """For a test that commits webhook rows the session's worker must not apply (it runs a
    relay of its own, or no worker at all): the session's relay, if one runs, is paused for the
    test and resumed only after its teardown has emptied the database."""
    _pause_session_relays()
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """A transactional test's database is emptied (TRUNCATE) at its teardown: the session's
    relay is paused meanwhile, since its passes lock the same tables in another order."""
    marker = item.get_closest_marker("django_db")
    fixtures = getattr(item, "fixturenames", ())
    transactional = "transactional_db" in fixtures or (marker and marker.kwargs.get("transaction"))
    # settled_worker waits for the relay to finish at teardown: it must keep running then.
    if transactional and "settled_worker" not in fixtures:
        _pause_session_relays()
    yield
    while _paused:
        _paused.pop().send_signal(signal.SIGCONT)


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker) -> Iterator[subprocess.Popen[bytes]]:
    """A real `celery worker` process on Redis, using the test database, and the relay that
    feeds it (`manage.py relay`).

    Tests that need what it writes must use `transactional_db`, so their rows are committed
    where the worker can see them.
    """
    from portal.celery import app

    with django_db_blocker.unblock():
        database_url = _test_database_url()
    app.control.purge()  # leftovers of an interrupted earlier run
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
        "WORKER_NICE": str(SESSION_WORKER_NICE),
    }
    node = f"test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    log = ROOT / "var" / "test-worker.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("wb") as out:
        worker = subprocess.Popen(
            celery_worker_command(
                "-c", "2", "-l", "INFO", "-n", node, "--without-gossip", "--without-mingle"
            ),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    worker.node = node  # type: ignore[attr-defined]
    # The worker's other half in production: the relay publishes committed webhook deliveries
    # and domain events to it (manage.py relay).
    relay_log = ROOT / "var" / "test-relay.log"
    with relay_log.open("wb") as out:
        relay = subprocess.Popen(
            [sys.executable, "manage.py", "relay"],
            cwd=ROOT,
            env={**env, "PGAPPNAME": SESSION_RELAY_NAME},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    SESSION_RELAYS.append(relay)
    try:
        wait_for(
            lambda: app.control.ping(destination=[node], timeout=0.5),
            timeout=60,
            what=f"the Celery worker (log: {log})",
        )
        yield worker
    finally:
        stop_process(relay, timeout=20)
        stop_process(worker, timeout=20)


SIM_PARTNER_ID = "aAbBcCPA"
SIM_API_KEY = "sim-partner-api-key"
SIM_SECRET = "sim-platform-secret"  # noqa: S105 - the simulator's made-up secret


@pytest.fixture
def connect_partner(hubsim):
    """Make a partner in the database whose 360Dialog is the simulator, and register it there
    (webhooks go to `webhook_url`, or nowhere)."""
    from portal.models import Partner
    from portal.tests.factories import PartnerFactory

    def connect(
        *, payment_mode: str = Partner.PaymentMode.PARTNER, webhook_url: str = "", **values
    ) -> Partner:
        partner = PartnerFactory.create(
            hub_partner_id=SIM_PARTNER_ID,
            hub_url=hubsim.base_url,
            api_base_url=hubsim.api_base_url,
            api_key=SIM_API_KEY,
            platform_secret=SIM_SECRET,
            payment_mode=payment_mode,
            **values,
        )
        hubsim.partner(
            partner_id=SIM_PARTNER_ID,
            api_key=SIM_API_KEY,
            platform_secret=SIM_SECRET,
            payment_mode=payment_mode,
            webhook_url=webhook_url,
        )
        return partner

    return connect
