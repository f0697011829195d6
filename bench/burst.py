"""A burst of 10,000 lifecycle webhooks with the workers draining: `python -m bench.burst`.

2,000 channels made at the hub simulator (each walked to live there, sending no webhooks), then
their 10,000 lifecycle events (created, submitted, ready, running, live), shuffled and signed,
POSTed to gunicorn by 16 keep-alive connections while Celery workers apply them:

- keys on: the partner is connected to the simulator, so every channel gets its API key;
- keys off: a second partner without a Partner API key gets the same events (nothing queued
  for keys).

Measured: ingest rate, time from the first request until every event is applied (and, keys
on, every key stored), lost events (answered 2xx but not stored, or stored but not applied),
double-applied ones (a channel's status change on the timeline more than once), keys created
per channel at the simulator (each must be 1), events applied more than once by a worker run
(attempts > 1: the sweep's or a retry's extra runs). Baselines from the same run, on the same
gunicorn and workers: 10,000 no-op POSTs (bench/urls.py) while the workers drain 10,000 no-op
tasks (`portal.noop`, on the webhooks queue). The last line gives the ratios.

PostgreSQL at BENCH_DATABASE_URL (a fresh database `portal_bench_burst` by default), Redis at
BENCH_REDIS_URL (database 14 by default, emptied). Options choose the workers: --pool
(prefork, threads), --concurrency, --prefetch, --worker-processes or --worker-queues (one process
per group of queues); --web-workers; --phases.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis

from bench.ingest import ENV as INGEST_ENV
from bench.ingest import (
    children,
    cpu_seconds,
    cpu_used,
    fresh_database,
    gunicorn_command,
    postgres_pids,
    stop,
)
from bench.ingest import manage as ingest_manage
from bench.ingest import spawn as ingest_spawn

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CHANNELS = 2000
STATUSES = ("created", "submitted", "ready", "running", "live")
SECRET = "bench-platform-secret"  # noqa: S105 - made up for the benchmark
HUB_KEY = "bench-partner-api-key"
HUB_PARTNER = "benchPA"
ENV = {
    **INGEST_ENV,
    "DATABASE_URL": os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench_burst"
    ),
    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
    "EMAIL_URL": "dummymail://",
}
FOLDER = ROOT / "var" / "bench-burst"
QUEUES = "webhooks,hub,default,outbound"  # what a production worker consumes

PARTNERS = """
from portal.models import Partner
from portal.services import partner_webhook_token_rotate
hub = %r
keys = Partner.objects.create(
    slug="bench-keys", name="Bench (keys)", hub_partner_id=%r, hub_url=hub,
    api_base_url=hub + "/api/v2", api_key=%r, platform_secret=%r, payment_mode="partner",
)
plain = Partner.objects.create(
    slug="bench-no-keys", name="Bench (no keys)", hub_partner_id="benchNoKeysPA",
    platform_secret=%r, payment_mode="partner",
)
print(partner_webhook_token_rotate(partner=keys), partner_webhook_token_rotate(partner=plain))
"""


def spawn(command: list[str], name: str) -> subprocess.Popen[bytes]:
    return ingest_spawn(command, FOLDER / f"{name}.log", env=ENV)


# manage.py with the portal's own settings (no bench URLs needed here).
MANAGE_ENV = {**ENV, "DJANGO_SETTINGS_MODULE": "portal.settings"}


def manage(*args: str) -> str:
    return ingest_manage(*args, env=MANAGE_ENV)


def query(sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(ENV["DATABASE_URL"]) as conn:
        return conn.execute(sql, params).fetchall()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait(predicate: Callable[[], bool], *, timeout: float, what: str, every: float = 0.2) -> float:
    """Poll until true; the seconds it took. Exits after `timeout`."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)
    return time.monotonic() - started


Roles = dict[str, list[subprocess.Popen[bytes]]]


def cpu_by_role(roles: Roles) -> dict[str, dict[int, float]]:
    """CPU seconds used so far by each role's processes (and their children), by every
    PostgreSQL process, and by the whole machine."""
    readings = {"machine": {0: machine_cpu_seconds()}, "postgres": cpu_seconds(postgres_pids())}
    for role, processes in roles.items():
        pids = [process.pid for process in processes]
        readings[role] = cpu_seconds(pids + [child for pid in pids for child in children(pid)])
    return readings


def machine_cpu_seconds() -> float:
    """CPU seconds the whole machine has been busy (every core, every process, the benchmark's
    own client included): unlike a process's, they are not lost when a process exits
    (PostgreSQL's autovacuum workers and short connections)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wal_position() -> str:
    return str(query("SELECT pg_current_wal_lsn()")[0][0])


def measured(roles: Roles, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """run()'s results, with the CPU seconds each role used meanwhile and the bytes of WAL
    PostgreSQL wrote (the whole server's: the benchmark is its only writer)."""
    cpu_before, wal_before = cpu_by_role(roles), wal_position()
    results = run()
    cpu_after = cpu_by_role(roles)
    wal = query("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", wal_before)[0][0]
    return {
        **results,
        "cpu_seconds": {
            role: round(cpu_used(cpu_before[role], cpu_after[role]), 2) for role in cpu_after
        },
        "wal_bytes": int(wal),
    }


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def start_simulator() -> tuple[subprocess.Popen[bytes], str]:
    """The hub simulator, knowing the partner (with no webhook URL: it sends no webhooks),
    with CHANNELS channels walked to live; (process, base URL)."""
    port = free_port()
    partners = FOLDER / "hubsim-partners.json"
    partners.write_text(
        json.dumps(
            [
                {
                    "partner_id": HUB_PARTNER,
                    "api_key": HUB_KEY,
                    "platform_secret": SECRET,
                    "payment_mode": "partner",
                }
            ]
        )
    )
    process = spawn(
        [sys.executable, "-m", "hubsim", "--port", str(port), "--partners", str(partners)],
        "hubsim",
    )
    hub = f"http://127.0.0.1:{port}"
    wait(lambda: answers(f"{hub}/_sim/health"), timeout=60, what="the simulator")
    with httpx.Client(base_url=hub, timeout=30) as sim:
        sim.post("/_sim/faults", json={"webhook_delay": 0}).raise_for_status()
        for n in range(CHANNELS):
            sim.post(
                "/_sim/onboard",
                json={
                    "partner_id": HUB_PARTNER,
                    "email": f"owner{n}@burst.example",
                    "name": f"Burst client {n}",
                    "numbers": [f"+4915{n:09d}"],
                },
            ).raise_for_status()
        wait(lambda: sim.get("/_sim/idle").json()["idle"], timeout=120, what="the simulator")
    return process, hub


def simulator_channels(hub: str) -> list[dict[str, Any]]:
    return list(httpx.get(f"{hub}/_sim/state", timeout=60).json()["channels"])


def lifecycle_bodies(channels: list[dict[str, Any]]) -> list[tuple[str, bytes]]:
    """Every channel's 5 lifecycle events, shuffled, signed: (signature, body)."""
    from dialog360.signatures import webhook_signature

    rows = []
    for channel in channels:
        data = {
            name: value
            for name, value in channel.items()
            if name not in ("partner_id", "permission", "keys_created", "current_key", "keys")
        }
        for status in STATUSES:
            body = json.dumps(
                {
                    "id": f"evt_{uuid.uuid4().hex}",
                    "event": f"channel_{status}",
                    "data": {**data, "status": status},
                }
            ).encode()
            rows.append((webhook_signature(body, SECRET), body))
    random.Random(15).shuffle(rows)  # noqa: S311 - a reproducible order, not a secret
    return rows


def post_all(
    port: int, path: str, rows: list[tuple[str, bytes]], connections: int
) -> dict[str, Any]:
    """POST every row once over `connections` keep-alive connections; rate and answers."""
    return asyncio.run(_post_all(port, path, rows, connections))


async def _post_all(
    port: int, path: str, rows: list[tuple[str, bytes]], connections: int
) -> dict[str, Any]:
    statuses: list[int] = [0] * len(rows)
    cursor = iter(range(len(rows)))

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for index in cursor:
            signature, body = rows[index]
            head = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                + (f"x-360dialog-signature: {signature}\r\n" if signature else "")
                + "\r\n"
            ).encode()
            for _attempt in (1, 2):  # a kept connection the server closed: a new one, once
                try:
                    writer.write(head + body)
                    await writer.drain()
                    status_line = await reader.readline()
                except ConnectionError:
                    status_line = b""
                if status_line:
                    break
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            if not status_line:
                continue
            length, keep = 0, True
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "connection" and value.strip().lower() == "close":
                    keep = False
            await reader.readexactly(length)
            statuses[index] = int(status_line.split()[1])
            if not keep:
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    seconds = time.perf_counter() - started
    ok = [index for index, status in enumerate(statuses) if 200 <= status < 300]
    return {"seconds": seconds, "rate": len(rows) / seconds, "ok": ok, "sent": len(rows)}


def queue_empty(client: redis.Redis[bytes]) -> bool:
    """Nothing waiting in the broker and nothing handed out and not yet acknowledged."""
    return not any(client.llen(queue) for queue in QUEUES.split(",")) and not (
        client.hlen("unacked")
    )


def start_workers(options: argparse.Namespace) -> list[subprocess.Popen[bytes]]:
    """The Celery workers and the relay that feeds them."""
    workers = [spawn([sys.executable, "manage.py", "relay"], "relay")]
    # --worker-queues "webhooks,default,outbound;hub": one worker process per group.
    groups = options.worker_queues.split(";") if options.worker_queues else []
    for n in range(len(groups) or options.worker_processes):
        workers.append(
            spawn(
                [
                    str(BIN / "celery"),
                    "-A",
                    "portal",
                    "worker",
                    "-Q",
                    groups[n] if groups else QUEUES,
                    "-P",
                    options.pool,
                    "-c",
                    str(options.concurrency),
                    "--prefetch-multiplier",
                    str(options.prefetch),
                    "-n",
                    f"burst{n}@%h",
                    "-l",
                    "WARNING",
                ],
                f"worker{n}",
            )
        )
    return workers


def baseline(port: int, client: redis.Redis[bytes], count: int, connections: int) -> dict[str, Any]:
    """No-op POSTs while the workers drain as many no-op tasks from the webhooks queue."""
    from portal.celery import app

    started = time.monotonic()
    with app.producer_or_acquire() as producer:  # type: ignore[attr-defined]
        for n in range(count):
            app.send_task(
                "portal.noop", (1, n), queue="webhooks", producer=producer, ignore_result=True
            )
    posted = post_all(port, "/bench/noop/", [("", b"{}")] * count, connections)
    wait(lambda: queue_empty(client), timeout=600, what="the no-op tasks", every=0.05)
    drained = time.monotonic() - started
    return {
        "noop_post_rate": posted["rate"],
        "noop_drain_seconds": drained,
        "noop_tasks_per_second": count / drained,
    }


def burst(
    port: int, token: str, rows: list[tuple[str, bytes]], partner_slug: str, keys: bool, conns: int
) -> dict[str, Any]:
    partner_id = query("SELECT id FROM portal_partner WHERE slug = %s", partner_slug)[0][0]
    started = time.monotonic()
    posted = post_all(port, f"/webhooks/360dialog/{token}/", rows, conns)

    def done() -> bool:
        waiting = query(
            "SELECT count(*) FROM webhooks_webhookevent WHERE partner_id = %s "
            "AND status IN ('received', 'failed')",
            partner_id,
        )[0][0]
        if waiting:
            return False
        if not keys:
            return True
        stored = query(
            "SELECT count(*) FROM channels_apikey WHERE partner_id = %s AND revoked_at IS NULL",
            partner_id,
        )[0][0]
        return bool(stored >= CHANNELS)

    wait(done, timeout=900, what="every event applied", every=0.5)
    applied_after = time.monotonic() - started
    return {
        "ingest_seconds": posted["seconds"],
        "ingest_rate": posted["rate"],
        "answered_2xx": len(posted["ok"]),
        "applied_seconds": applied_after,
        **correctness(partner_id, rows, posted["ok"]),
    }


def correctness(partner_id: int, rows: list[tuple[str, bytes]], ok: list[int]) -> dict[str, Any]:
    answered = {json.loads(rows[index][1])["id"] for index in ok}
    stored = dict(
        query(
            "SELECT hub_event_id, status FROM webhooks_webhookevent WHERE partner_id = %s",
            partner_id,
        )
    )
    lost = sum(1 for event in answered if stored.get(event) != "processed")
    doubled = query(
        "SELECT count(*) FROM (SELECT onboarding_id, data->>'status' FROM clients_timelineentry "
        "WHERE partner_id = %s AND kind = 'status' AND data ? 'source' "
        "GROUP BY 1, 2 HAVING count(*) > 1) AS twice",
        partner_id,
    )[0][0]
    extra_runs = query(
        "SELECT coalesce(sum(attempts - 1), 0) FROM webhooks_webhookevent WHERE partner_id = %s",
        partner_id,
    )[0][0]
    channels = dict(
        query(
            "SELECT status, count(*) FROM channels_channel WHERE partner_id = %s GROUP BY 1",
            partner_id,
        )
    )
    return {
        "lost": lost,
        "double_applied": doubled,
        "extra_runs": int(extra_runs),
        "channels": channels,
    }


def main() -> int:
    global CHANNELS  # one run's size, read by every phase
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--pool", default="prefork", choices=["prefork", "threads"])
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--prefetch", type=int, default=1)
    parser.add_argument("--worker-processes", type=int, default=1)
    parser.add_argument(
        "--worker-queues",
        default="",
        help='one worker process per ";"-separated group of queues, e.g. '
        '"webhooks,default,outbound;hub" (instead of --worker-processes on every queue)',
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--phases", default="baseline,keys-on,keys-off")
    parser.add_argument("--channels", type=int, default=CHANNELS, help="5 events each")
    options = parser.parse_args()
    CHANNELS = options.channels
    phases = options.phases.split(",")
    shutil.rmtree(FOLDER, ignore_errors=True)
    FOLDER.mkdir(parents=True)
    os.environ.update({name: ENV[name] for name in ("DATABASE_URL", "REDIS_URL")})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ.setdefault("DJANGO_DEBUG", "true")
    import django

    django.setup()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    fresh_database(env=MANAGE_ENV)
    client = redis.Redis.from_url(ENV["REDIS_URL"])
    client.flushdb()
    processes: list[subprocess.Popen[bytes]] = []
    results: dict[str, Any] = {"options": vars(options)}
    try:
        simulator, hub = start_simulator()
        processes.append(simulator)
        tokens = manage("shell", "-c", PARTNERS % (hub, HUB_PARTNER, HUB_KEY, SECRET, SECRET))
        keys_token, plain_token = tokens.strip().splitlines()[-1].split()
        channels = simulator_channels(hub)
        rows = lifecycle_bodies(channels)
        port = free_port()
        web = spawn(gunicorn_command(port, options.web_workers, options.worker_class), "web")
        processes.append(web)
        wait(lambda: answers(f"http://127.0.0.1:{port}/healthz"), timeout=60, what="gunicorn")
        relay, *workers = start_workers(options)
        processes.extend([relay, *workers])
        roles = {"web": [web], "workers": workers, "relay": [relay], "simulator": [simulator]}
        time.sleep(3)
        if "baseline" in phases:
            results["baseline"] = measured(
                roles, lambda: baseline(port, client, len(rows), options.connections)
            )
        if "keys-on" in phases:
            results["keys_on"] = measured(
                roles,
                lambda: burst(port, keys_token, rows, "bench-keys", True, options.connections),
            )
            state = simulator_channels(hub)
            per_channel: dict[int, int] = {}
            for channel in state:
                per_channel[channel["keys_created"]] = (
                    per_channel.get(channel["keys_created"], 0) + 1
                )
            results["keys_on"]["keys_created_per_channel"] = per_channel
        if "keys-off" in phases:
            results["keys_off"] = measured(
                roles,
                lambda: burst(port, plain_token, rows, "bench-no-keys", False, options.connections),
            )
    finally:
        for process in reversed(processes):
            stop(process)
    report(results)
    return 0 if healthy(results) else 1


def healthy(results: dict[str, Any]) -> bool:
    for name in ("keys_on", "keys_off"):
        run = results.get(name)
        if run and (run["lost"] or run["double_applied"] or run["answered_2xx"] != 5 * CHANNELS):
            return False
    keys = results.get("keys_on", {}).get("keys_created_per_channel")
    return keys is None or keys == {1: CHANNELS}


def cost_per_event(run: dict[str, Any]) -> str:
    """CPU milliseconds per event (or per no-op POST and task) by role, and kilobytes of WAL."""
    events = 5 * CHANNELS
    cpu = ", ".join(
        f"{role} {seconds * 1000 / events:.2f}" for role, seconds in run["cpu_seconds"].items()
    )
    return f"CPU ms: {cpu}; WAL {run['wal_bytes'] / 1024 / events:.1f} kB"


def report(results: dict[str, Any]) -> None:
    print(json.dumps(results, default=str))
    options = results["options"]
    processes = (
        f"{len(options['worker_queues'].split(';'))} (queues {options['worker_queues']})"
        if options["worker_queues"]
        else str(options["worker_processes"])
    )
    print(
        f"workers: {processes} x {options['pool']} -c {options['concurrency']}"
        f", prefetch {options['prefetch']}; gunicorn {options['web_workers']} "
        f"{options['worker_class']}"
    )
    base = results.get("baseline")
    if base:
        print(
            f"baseline: no-op POST {base['noop_post_rate']:.0f} req/s; no-op tasks drained at "
            f"{base['noop_tasks_per_second']:.0f}/s"
        )
        print(f"baseline: per no-op POST and task, {cost_per_event(base)}")
    for name, label in (("keys_on", "keys on"), ("keys_off", "keys off")):
        run = results.get(name)
        if not run:
            continue
        applied_rate = 5 * CHANNELS / run["applied_seconds"]
        line = (
            f"{label}: ingest {run['ingest_rate']:.0f} req/s ({run['ingest_seconds']:.1f} s), "
            f"all applied{' with keys' if name == 'keys_on' else ''} after "
            f"{run['applied_seconds']:.1f} s ({applied_rate:.0f} events/s); 2xx "
            f"{run['answered_2xx']}, lost {run['lost']}, double-applied "
            f"{run['double_applied']}, extra runs {run['extra_runs']}"
        )
        if name == "keys_on":
            line += f", keys created per channel {run['keys_created_per_channel']}"
        print(line)
        print(f"{label}: per event, {cost_per_event(run)}")
    ratios = []
    if base:
        for name, label in (("keys_on", "keys on"), ("keys_off", "keys off")):
            run = results.get(name)
            if run:
                applied_rate = 5 * CHANNELS / run["applied_seconds"]
                ratios.append(
                    f"{label}: ingest / no-op POST = "
                    f"{run['ingest_rate'] / base['noop_post_rate']:.2f}x, applied / no-op drain "
                    f"= {applied_rate / base['noop_tasks_per_second']:.2f}x"
                )
    if ratios:
        print("ratio: " + "; ".join(ratios))


if __name__ == "__main__":
    sys.exit(main())
