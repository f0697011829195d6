"""The webhook path at the speed of the machine, black-box: `python -m bench.ingest`.

Runs the production web setup (gunicorn with gunicorn.conf.py, PostgreSQL at DATABASE_URL in a
fresh database `portal_bench_ingest`, Redis at REDIS_URL database 15) and measures, each against
baselines from the same run on the same gunicorn:

1. saturation (wrk): GET /healthz, a Django no-op POST (bench/urls.py), and signed webhooks
   (every body a distinct event) with no worker running, then with two worker processes
   draining the backlog; stored rows are counted against 2xx answers;
2. fixed rates (a constant-rate client, latency from the moment each request was due): the
   webhook and the no-op POST at 300 and 90 requests per second, with the workers draining
   (the events still waiting are counted before and after each run).

It also prints the CPU each request cost gunicorn's workers and PostgreSQL during the saturation
runs (read from /proc: Linux only). The last lines are the ratios. Options: --seconds (per
saturation run), --web-workers, --worker-class (gunicorn's: sync, gthread), --worker-nice (the
Celery workers' CPU priority, WORKER_NICE: by default the setting's, 0).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.load import constant_rate, wrk

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECRET = "bench-platform-secret"  # noqa: S105 - made up for the benchmark
ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "bench.settings",
    "DJANGO_DEBUG": "false",
    "DJANGO_ENV_FILE": "",
    "SECRET_KEY": "bench-only-" + uuid.uuid4().hex * 2,
    "FIELD_ENCRYPTION_KEYS": "YmVuY2gtb25seS1maWVsZC1rZXktMDAwMDAwMDAwMDA=",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "PUBLIC_BASE_URL": "https://bench.example",
    "SECURE_SSL_REDIRECT": "false",
    "DATABASE_URL": os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal_bench_ingest"
    ),
    "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
    "LOG_LEVEL": "WARNING",
    "PYTHONUNBUFFERED": "1",
}
TEMPLATE = (
    '{"id": "evt_%s", "event": "channel_running", "data": {"id": "ch%06d", '
    '"client_id": "cl%06d", "status": "running", "setup_info": '
    '{"phone_number": "4915112345678", "phone_name": "Bench"}}}'
)


def fresh_database(env: dict[str, str] = ENV) -> None:
    """Drop and create the database of `env`'s DATABASE_URL, then migrate it."""
    url = env["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    manage("migrate", "-v", "0", env=env)


def manage(*args: str, env: dict[str, str] = ENV) -> str:
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


PARTNER = """
from portal.models import Partner
from portal.services import partner_webhook_token_rotate
partner = Partner.objects.create(slug="bench", name="Bench", hub_partner_id="benchPA",
                                 platform_secret=%r)
print(partner_webhook_token_rotate(partner=partner))
"""


def bodies(folder: Path, count: int) -> tuple[Path, list[tuple[str, bytes]]]:
    """`count` distinct signed webhook bodies, as wrk's input file and as rows."""
    from dialog360.signatures import webhook_signature

    rows = []
    for n in range(count):
        body = (TEMPLATE % (uuid.uuid4().hex, n, n)).encode()
        rows.append((webhook_signature(body, SECRET), body))
    path = folder / "webhooks.tsv"
    path.write_text("".join(f"{sig}\t{body.decode()}\n" for sig, body in rows))
    noop = folder / "noop.tsv"
    noop.write_text("".join(f"\t{body.decode()}\n" for _, body in rows[:1000]))
    return path, rows


def stored_rows(where: str = "true") -> int:
    """Stored webhook events (those matching `where`, a condition written here)."""
    query = f"SELECT count(*) FROM webhooks_webhookevent WHERE {where}"  # noqa: S608
    with psycopg.connect(ENV["DATABASE_URL"]) as conn:
        row = conn.execute(query).fetchone()
    return int(row[0]) if row else 0


def backlog() -> int:
    """Stored events the workers have not applied yet."""
    return stored_rows("status = 'received'")


def spawn(command: list[str], log: Path, env: dict[str, str] = ENV) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # noqa: S603
        command,
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def gunicorn_command(port: int, workers: int, worker_class: str | None = None) -> list[str]:
    """The production web server (gunicorn.conf.py) on 127.0.0.1:`port`; its worker class
    unless one is given."""
    classes = ["--worker-class", worker_class] if worker_class else []
    threads = ["--threads", "4"] if worker_class == "gthread" else []
    return [
        str(BIN / "gunicorn"),
        "portal.wsgi",
        "--config",
        "gunicorn.conf.py",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        *classes,
        *threads,
    ]


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User and system CPU seconds each of these processes has used so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone
        used[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return used


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between the two readings, processes started meanwhile included."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def postgres_pids() -> list[int]:
    """Every PostgreSQL server process on the machine (the benchmark's backends among them)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def with_cpu(web: subprocess.Popen[bytes], run: Callable[[], Any]) -> tuple[Any, float, float]:
    """run(), and the CPU seconds gunicorn's workers and PostgreSQL used meanwhile."""
    web_before, pg_before = cpu_seconds(children(web.pid)), cpu_seconds(postgres_pids())
    result = run()
    web_after, pg_after = cpu_seconds(children(web.pid)), cpu_seconds(postgres_pids())
    return result, cpu_used(web_before, web_after), cpu_used(pg_before, pg_after)


def stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--web-workers", type=int, default=3)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=None,
        help="the Celery workers' CPU priority (WORKER_NICE; 0: the web server's own; "
        "default: the setting's own default)",
    )
    options = parser.parse_args()
    folder = ROOT / "var" / "bench-ingest"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    fresh_database()
    import redis

    redis.Redis.from_url(ENV["REDIS_URL"]).flushdb()
    token = manage("shell", "-c", PARTNER % SECRET).strip().splitlines()[-1]
    wanted = int(options.seconds * 2000 * 4 + 90 * 20 + 300 * 20)
    webhook_file, rows = bodies(folder, wanted)
    port = 18000 + os.getpid() % 1000
    base = f"http://127.0.0.1:{port}"
    web = spawn(
        gunicorn_command(port, options.web_workers, options.worker_class), folder / "web.log"
    )
    workers: list[subprocess.Popen[bytes]] = []
    results: dict[str, Any] = {}
    cpu: dict[str, tuple[float, float, int]] = {}
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("gunicorn did not start; see var/bench-ingest/web.log")
            time.sleep(0.2)
        hook = f"{base}/webhooks/360dialog/{token}/"
        seconds, conns = options.seconds, options.connections
        wrk(f"{base}/healthz", seconds=2, connections=conns)  # warm every worker up
        results["healthz"] = wrk(f"{base}/healthz", seconds=seconds, connections=conns)
        results["noop"], web_cpu, pg_cpu = with_cpu(
            web,
            lambda: wrk(
                f"{base}/bench/noop/",
                seconds=seconds,
                connections=conns,
                bodies=folder / "noop.tsv",
            ),
        )
        cpu["noop"] = (web_cpu, pg_cpu, results["noop"].requests)
        before = stored_rows()
        idle, web_cpu, pg_cpu = with_cpu(
            web, lambda: wrk(hook, seconds=seconds, connections=conns, bodies=webhook_file)
        )
        cpu["webhook"] = (web_cpu, pg_cpu, idle.requests)
        results["webhook_idle"] = idle
        results["stored_idle"] = stored_rows() - before
        # Two worker processes, fed by the relay, drain the backlog while more arrives.
        worker_env = dict(ENV)
        if options.worker_nice is not None:
            worker_env["WORKER_NICE"] = str(options.worker_nice)
        workers.append(spawn([sys.executable, "manage.py", "relay"], folder / "relay.log"))
        for n in (1, 2):
            workers.append(
                spawn(
                    [
                        str(BIN / "celery"),
                        "-A",
                        "portal",
                        "worker",
                        "-Q",
                        "default,webhooks,hub",
                        "-c",
                        "1",
                        "-n",
                        f"bench{n}@%h",
                        "-l",
                        "WARNING",
                    ],
                    folder / f"worker{n}.log",
                    worker_env,
                )
            )
        time.sleep(3)
        results["worker_nice"] = os.getpriority(os.PRIO_PROCESS, workers[-1].pid)  # as set
        # wrk's threads step through the bodies side by side and one may run ahead of the
        # other: twice the answers counted is past every body the first run sent.
        second_offset = 2 * idle.requests + 100
        before = stored_rows()
        draining = wrk(
            hook,
            seconds=seconds,
            connections=conns,
            bodies=webhook_file,
            offset=second_offset,
        )
        results["webhook_draining"] = draining
        results["stored_draining"] = stored_rows() - before
        offset = second_offset + 2 * draining.requests + 100
        # The higher rate first, while the backlog is largest; the backlog is counted before
        # and after each run, so a figure taken after the workers ran dry shows as such.
        for rate in (300, 90):
            sample = rows[offset : offset + rate * 20]
            offset += rate * 20
            waiting = [backlog()]
            results[f"webhook_{rate}"] = constant_rate(
                "127.0.0.1", port, f"/webhooks/360dialog/{token}/", sample, rate=rate, seconds=15
            )
            waiting.append(backlog())
            results[f"noop_{rate}"] = constant_rate(
                "127.0.0.1", port, "/bench/noop/", [("", b"{}")], rate=rate, seconds=15
            )
            waiting.append(backlog())
            results[f"backlog_{rate}"] = waiting
    finally:
        for process in [*workers, web]:
            stop(process)
    report(results, options, cpu)
    return 0


def report(
    results: dict[str, Any],
    options: argparse.Namespace,
    cpu: dict[str, tuple[float, float, int]],
) -> None:
    def row(name: str) -> dict[str, Any]:
        values: dict[str, Any] = vars(results[name])
        return values

    print(json.dumps({name: row(name) for name in results if hasattr(results[name], "__dict__")}))
    idle, draining = row("webhook_idle"), row("webhook_draining")
    print(
        f"gunicorn: {options.web_workers} {options.worker_class} workers; "
        f"{options.seconds} s per saturation run; Celery workers at nice {results['worker_nice']}"
    )
    for label, name in (("GET /healthz", "healthz"), ("no-op POST", "noop")):
        r = row(name)
        print(f"{label:32} {r['requests_per_second']:8.0f} req/s  p99 {r['p99_ms']:.1f} ms")
    for label, r, stored in (
        ("webhook, workers idle", idle, results["stored_idle"]),
        ("webhook, workers draining", draining, results["stored_draining"]),
    ):
        ok = int(r["requests"]) - int(r["non_2xx"])
        print(
            f"{label:32} {r['requests_per_second']:8.0f} req/s  p99 {r['p99_ms']:.1f} ms  "
            f"2xx {ok}  stored {stored}"
        )
    for fixed in (90, 300):
        hook, base = row(f"webhook_{fixed}"), row(f"noop_{fixed}")
        start, between, end = results[f"backlog_{fixed}"]
        dry = " (the workers ran dry: not a draining figure)" if not between else ""
        print(
            f"at {fixed} req/s: webhook p50 {hook['p50_ms']:.1f} p99 {hook['p99_ms']:.1f} ms "
            f"({hook['ok']}/{hook['sent']} 2xx); no-op POST p50 {base['p50_ms']:.1f} "
            f"p99 {base['p99_ms']:.1f} ms; events waiting {start} -> {between} -> {end}{dry}"
        )
    for name, label in (("noop", "no-op POST"), ("webhook", "webhook")):
        web_cpu, pg_cpu, requests = cpu[name]
        print(
            f"CPU per request, {label}: {1000 * web_cpu / requests:.2f} ms in gunicorn, "
            f"{1000 * pg_cpu / requests:.2f} ms in PostgreSQL (saturation, workers idle)"
        )
    rates: dict[str, float] = {
        name: float(str(row(key)["requests_per_second"]))
        for name, key in (
            ("healthz", "healthz"),
            ("noop", "noop"),
            ("idle", "webhook_idle"),
            ("draining", "webhook_draining"),
        )
    }
    print(
        f"ratio: webhook saturation / no-op POST = {rates['idle'] / rates['noop']:.2f}x (idle), "
        f"{rates['draining'] / rates['noop']:.2f}x (draining); "
        f"/ GET /healthz = {rates['idle'] / rates['healthz']:.2f}x"
    )


if __name__ == "__main__":
    sys.exit(main())
