"""Exactly-once under load, checked against 360Dialog's side: `python -m bench.soak`.

Starts a whole portal, then 50 onboardings at once against the hub simulator with its fault
switches on (every webhook sent twice, each onboarding's webhooks shuffled, Partner API 500,
502, 503 and 429 answers to key creation). Half the clients go through the signup page, the
launch, the simulator's permission page and the return, as a browser would (without running
scripts); the other half connect at the simulator directly (stand-in onboardings). When
everything has settled (or after --timeout seconds) it compares every channel at the simulator
with the portal's database and prints the counts; it exits 1 if one of them is wrong:

- keys created at the hub: exactly 1 per running (or live) channel;
- the portal's current key is the hub's current key (same fingerprint), for every channel;
- no onboarding is failed in the portal while the hub shows its channel live;
- no server error (5xx) answered to the end clients, no "database is locked" in any log.

--setup demo       `scripts/demo.py` as a user runs it (embedded PostgreSQL, file-system broker,
                   a thread-pool worker, gunicorn), with its data in var/soak-demo (new each run)
--setup production gunicorn (3 workers), two Celery worker processes, beat, PostgreSQL at
                   DATABASE_URL (database portal_soak, new each run) and Redis at REDIS_URL
                   (database 5, emptied)

Both run with DJANGO_DEBUG=true (the clients speak plain HTTP to 127.0.0.1, where secure cookies
would not travel), RETRY_BACKOFF_SECONDS=1 (the scripted Partner API errors are retried in
seconds instead of minutes) and per-address rate limits raised to 1000 (every client comes from
127.0.0.1 here). Logs are kept in var/soak-<setup>/.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import psycopg
import redis
from cryptography.fernet import Fernet

from bench.ingest import gunicorn_command

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
PARTNER_ID = "demoPA"
# Every simulated client comes from 127.0.0.1: the per-address limits would stop the run.
LIMITS = {f"RATE_LIMIT_{step}_IP": "1000/600" for step in ("SIGNUP", "LAUNCH", "RETURN", "STATUS")}
FAULTS = {
    "duplicate_webhooks": True,
    "webhook_order": "shuffle",
    "seed": 7,
    "webhook_delay": 0.2,
    "api_errors": [500, 429, 503, 500, 429, 502, 500, 429, 500, 503, 429, 500],
    "api_errors_for": "create_api_key",
    "api_retry_after": 1,
}


@dataclass
class Stack:
    """The running processes of one setup, and where to reach them."""

    portal: str
    hub: str
    database_url: str
    logs: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(
    name: str, command: list[str], env: dict[str, str], logs: Path
) -> subprocess.Popen[bytes]:
    out = (logs / f"{name}.log").open("ab")
    return subprocess.Popen(  # noqa: S603 - our own processes
        command,
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: SIGINT as from a terminal
    )


def wait_until(predicate: Any, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.5)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def start_demo(logs: Path) -> Stack:
    port, hub_port = free_port(), free_port()
    data_dir = logs / "data"
    env = {
        **os.environ,
        "PORTAL_PORT": str(port),
        "HUBSIM_PORT": str(hub_port),
        "DEMO_DATA_DIR": str(data_dir),
        "RETRY_BACKOFF_SECONDS": "1",
        **LIMITS,
    }
    demo = spawn("demo", [PYTHON, "scripts/demo.py"], env, logs)
    stack = Stack(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{hub_port}", "", logs, [demo])
    wait_until(lambda: answers(f"{stack.portal}/readyz"), timeout=180, what="the demo")
    wait_until(lambda: answers(f"{stack.hub}/_sim/health"), timeout=60, what="the simulator")
    settings = dict(line.split("=", 1) for line in (data_dir / "demo.env").read_text().splitlines())
    stack.database_url = settings["DATABASE_URL"]
    return stack


def start_production(logs: Path) -> Stack:
    database_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_soak")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/5")
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(database_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url(redis_url).flushdb()
    port, hub_port = free_port(), free_port()
    portal, hub = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{hub_port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_DEBUG": "true",
        "DJANGO_ENV_FILE": str(logs / "empty.env"),
        "SECRET_KEY": "soak-only-secret-key-" + os.urandom(16).hex(),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PUBLIC_BASE_URL": portal,
        "LOG_FORMAT": "console",
        "RETRY_BACKOFF_SECONDS": "1",
        **LIMITS,
        "DEMO_ADMIN_PASSWORD": os.urandom(8).hex(),
        "DEMO_DIALOG360_API_KEY": os.urandom(16).hex(),
        "DEMO_DIALOG360_PLATFORM_SECRET": os.urandom(16).hex(),
        "DEMO_HUBSIM_URL": hub,
        "PYTHONUNBUFFERED": "1",
    }
    (logs / "empty.env").touch()
    partners = logs / "hubsim-partners.json"
    for command in (["migrate", "-v", "0"], ["demo_setup", "--hubsim-partners", str(partners)]):
        subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, env=env, check=True)  # noqa: S603
    stack = Stack(portal, hub, database_url, logs)
    celery = [str(BIN / "celery"), "-A", "portal"]
    for name, command in (
        (
            "hubsim",
            [
                PYTHON,
                "-m",
                "hubsim",
                "--port",
                str(hub_port),
                "--partners",
                str(partners),
                "--state",
                str(logs / "hubsim-state.json"),
            ],
        ),
        ("web", gunicorn_command(port, 3)),
        (
            "worker1",
            [*celery, "worker", "-Q", "default,webhooks,hub,outbound", "-c", "2", "-n", "w1@%h"],
        ),
        (
            "worker2",
            [*celery, "worker", "-Q", "default,webhooks,hub,outbound", "-c", "2", "-n", "w2@%h"],
        ),
        ("relay", [PYTHON, "manage.py", "relay"]),
        ("beat", [*celery, "beat", "-s", str(logs / "celerybeat-schedule")]),
    ):
        stack.processes.append(spawn(name, command, env, logs))
    wait_until(lambda: answers(f"{portal}/readyz"), timeout=120, what="gunicorn")
    wait_until(lambda: answers(f"{hub}/_sim/health"), timeout=60, what="the simulator")
    return stack


@dataclass
class Walk:
    """What one end client met: the portal's answer at each step."""

    statuses: list[tuple[str, int]] = field(default_factory=list)
    error: str = ""


def walk_signup(stack: Stack, n: int) -> Walk:
    """Signup page -> form -> launch -> the hub's permission page -> grant -> our return."""
    walk = Walk()
    number = f"49151{n:08d}"
    with httpx.Client(timeout=30) as browser:
        try:
            page = browser.get(f"{stack.portal}/p/demo/")
            walk.statuses.append(("signup", page.status_code))
            csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
            form = {
                "csrfmiddlewaretoken": csrf.group(1) if csrf else "",
                "email": f"client{n}@example.com",
                "contact_name": f"Client {n}",
                "phone_number": f"+{number}",
            }
            submitted = browser.post(f"{stack.portal}/p/demo/", data=form, follow_redirects=True)
            walk.statuses.append(("submit", submitted.status_code))
            launched = _launch(browser, submitted)
            walk.statuses.append(("launch", launched.status_code))
            permission_url = launched.headers["location"]
            hub_page = browser.get(permission_url)
            session = re.search(r'name="session" value="([^"]+)"', hub_page.text)
            granted = browser.post(
                permission_url.split("?", 1)[0],
                data={
                    "session": session.group(1) if session else "",
                    "email": form["email"],
                    "name": form["contact_name"],
                    "number": number,
                    "action": "grant",
                },
            )
            returned = browser.get(granted.headers["location"])
            walk.statuses.append(("return", returned.status_code))
        except (httpx.HTTPError, KeyError) as error:
            walk.error = f"{type(error).__name__}: {error}"
    return walk


def _launch(browser: httpx.Client, page: httpx.Response) -> httpx.Response:
    """The "Connect WhatsApp" step as the page offers it: a form to post, or a link."""
    form = re.search(r'<form[^>]*action="([^"]*launch/)"[^>]*>(.*?)</form>', page.text, re.S)
    if form is not None:
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2)))
        return browser.post(urljoin(str(page.url), form.group(1)), data=fields)
    link = re.search(r'href="([^"]*launch/)"', page.text)
    if link is None:
        raise KeyError("no launch link on the onboarding page")
    return browser.get(urljoin(str(page.url), link.group(1).replace("&amp;", "&")))


def walk_hub(stack: Stack, n: int) -> Walk:
    """A client that connects at 360Dialog directly (no return reaches the portal)."""
    walk = Walk()
    response = httpx.post(
        f"{stack.hub}/_sim/onboard",
        json={
            "partner_id": PARTNER_ID,
            "email": f"direct{n}@example.com",
            "name": f"Direct {n}",
            "numbers": [f"49160{n:08d}"],
        },
        timeout=30,
    )
    if response.status_code != 200:
        walk.error = f"simulator answered {response.status_code}"
    return walk


PORTAL_CHANNELS = """
SELECT c.hub_channel_id, c.status, k.fingerprint, o.status
FROM channels_channel c
LEFT JOIN channels_apikey k ON k.channel_id = c.id AND k.revoked_at IS NULL
LEFT JOIN clients_onboarding o ON o.id = c.onboarding_id
"""


def compare(stack: Stack) -> dict[str, Any]:
    """Every channel at the hub against the portal's database."""
    hub = httpx.get(f"{stack.hub}/_sim/state", timeout=30).json()
    with psycopg.connect(stack.database_url) as conn:
        rows = conn.execute(PORTAL_CHANNELS).fetchall()
    portal = {row[0]: row for row in rows}
    running = [c for c in hub["channels"] if c["status"] in ("running", "live")]
    keys_created = Counter(c["keys_created"] for c in running)
    mismatched = [
        c["id"]
        for c in hub["channels"]
        if (c["current_key"] or {}).get("fingerprint") != (portal.get(c["id"]) or (None,) * 4)[2]
    ]
    failed_but_live = [
        c["id"]
        for c in hub["channels"]
        if c["status"] == "live" and (portal.get(c["id"]) or (None,) * 4)[3] == "failed"
    ]
    return {
        "hub_channels": len(hub["channels"]),
        "running_or_live": len(running),
        "keys_created_per_running_channel": dict(sorted(keys_created.items())),
        "channels_not_exactly_one_key": sum(n for k, n in keys_created.items() if k != 1),
        "portal_key_differs_from_hub": len(mismatched),
        "failed_in_portal_but_live_at_hub": len(failed_but_live),
        "portal_channels": len(portal),
        "hub_idle": httpx.get(f"{stack.hub}/_sim/idle", timeout=10).json()["idle"],
        "mismatched_ids": mismatched[:10],
    }


def settled(result: dict[str, Any], expected_channels: int) -> bool:
    return bool(
        result["hub_idle"]
        and result["hub_channels"] == expected_channels
        and result["running_or_live"] == expected_channels
        and result["portal_key_differs_from_hub"] == 0
        and result["channels_not_exactly_one_key"] == 0
    )


def log_counts(logs: Path) -> dict[str, int]:
    text = "\n".join(path.read_text(errors="replace") for path in logs.glob("*.log"))
    access = re.findall(r'"(?:GET|POST) [^"]*" (\d{3}) ', text)
    return {
        "server_errors_in_access_log": sum(1 for status in access if status.startswith("5")),
        "database_is_locked": text.count("database is locked"),
        "deadlocks": text.count("deadlock detected"),
    }


def run(setup: str, onboardings: int, timeout: float) -> int:
    logs = ROOT / "var" / f"soak-{setup}"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    print(f"soak ({setup}): starting the portal; logs in {logs.relative_to(ROOT)}", flush=True)
    stack = start_demo(logs) if setup == "demo" else start_production(logs)
    try:
        httpx.post(f"{stack.hub}/_sim/faults", json=FAULTS, timeout=10).raise_for_status()
        began = time.monotonic()
        jobs = [(walk_signup if n % 2 == 0 else walk_hub, n) for n in range(onboardings)]
        random.Random(1).shuffle(jobs)  # noqa: S311 - an order, not a secret
        with ThreadPoolExecutor(max_workers=onboardings) as pool:
            walks = list(pool.map(lambda job: job[0](stack, job[1]), jobs))
        print(f"soak ({setup}): {onboardings} onboardings started; waiting", flush=True)
        result: dict[str, Any] = {}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = compare(stack)
            if settled(result, onboardings):
                break
            time.sleep(2)
        elapsed = time.monotonic() - began
    finally:
        stack.stop()
    steps = Counter(
        (step, status) for walk in walks for step, status in walk.statuses if status >= 500
    )
    report = {
        "setup": setup,
        "onboardings": onboardings,
        "walk_errors": [walk.error for walk in walks if walk.error],
        "server_errors_to_end_clients": sum(steps.values()),
        **{k: v for k, v in result.items() if k != "mismatched_ids" or v},
        **log_counts(logs),
        "settled_after_seconds": round(elapsed, 1),
    }
    print(json.dumps(report, indent=2))
    ok = (
        settled(result, onboardings)
        and not report["walk_errors"]
        and report["server_errors_to_end_clients"] == 0
        and report["failed_in_portal_but_live_at_hub"] == 0
        and report["server_errors_in_access_log"] == 0
        and report["database_is_locked"] == 0
    )
    print(f"soak ({setup}): {'OK' if ok else 'FAILED'}")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", choices=["demo", "production"], default="demo")
    parser.add_argument("--onboardings", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=300.0)
    options = parser.parse_args()
    threading.current_thread().name = "soak"
    return run(options.setup, options.onboardings, options.timeout)


if __name__ == "__main__":
    sys.exit(main())
