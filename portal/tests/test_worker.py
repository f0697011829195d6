"""Real Celery workers: on Redis for the suite, and on the embedded broker for the demo."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from celery import Celery

from conftest import SESSION_WORKER_NICE, free_port, wait_for
from portal.tasks import ping

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def test_a_task_sent_through_redis_is_run_by_the_worker_process(celery_worker):
    result = ping.delay()

    assert result.get(timeout=60) == "pong"
    assert celery_worker.poll() is None


def test_the_worker_and_its_pool_run_at_the_cpu_priority_set(celery_worker):
    expected = max(SESSION_WORKER_NICE, os.getpriority(os.PRIO_PROCESS, 0))
    pids = [celery_worker.pid, *_children(celery_worker.pid)]

    assert SESSION_WORKER_NICE == 10
    assert len(pids) == 3  # the main process and its two pool processes (-c 2)
    assert [os.getpriority(os.PRIO_PROCESS, pid) for pid in pids] == [expected] * 3


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def test_a_process_priority_is_lowered_to_the_setting_and_never_raised():
    code = (
        "import os; from portal.celery import cpu_priority_lower; "
        "print(cpu_priority_lower(0), cpu_priority_lower(7), cpu_priority_lower(3), "
        "os.getpriority(os.PRIO_PROCESS, 0))"
    )
    result = subprocess.run(
        ["nice", "-n", "2", sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    started = os.getpriority(os.PRIO_PROCESS, 0) + 2  # `nice -n 2` adds to ours
    lowered = str(max(started, 7))
    assert result.stdout.split() == [str(started), lowered, lowered, lowered], result.stderr


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=2)
    except httpx.TransportError:
        return None


SHOW_KEYS = (
    "from channels.models import ApiKey; from portal.tenancy import all_partners_scope\n"
    "with all_partners_scope(): [print(k.channel.hub_channel_id, k.fingerprint) "
    "for k in ApiKey.objects.filter(revoked_at__isnull=True)]"
)
SHOW_PARTNERS = (
    "from portal.models import Partner; from portal.selectors import partner_signup_url; "
    "[print(p.slug, partner_signup_url(p)) for p in Partner.objects.all()]"
)


def test_the_demo_serves_the_admin_and_a_partner_page_with_a_real_worker(tmp_path):
    port, hubsim_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    hub = f"http://127.0.0.1:{hubsim_port}"
    env = {
        **os.environ,
        "PORTAL_PORT": str(port),
        "HUBSIM_PORT": str(hubsim_port),
        "DEMO_DATA_DIR": str(tmp_path),
    }
    demo = subprocess.Popen(
        [sys.executable, "scripts/demo.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as in a terminal
    )
    try:
        wait_for(lambda: _get(f"{base}/healthz"), timeout=120, what="the demo web server")

        wait_for(lambda: _get(f"{hub}/_sim/health"), timeout=60, what="the hub simulator")
        hub_state = httpx.get(f"{hub}/_sim/state").json()
        signup = _get(f"{base}/p/demo/")
        login = _get(f"{base}/admin/login/")
        ready = _get(f"{base}/readyz")
        # A task through the demo's file-system broker, answered by the demo's worker process.
        probe = Celery(
            "probe", broker="filesystem://localhost/", backend=f"file://{tmp_path / 'results'}"
        )
        probe.conf.broker_transport_options = {
            "data_folder_in": str(tmp_path / "broker" / "queue"),
            "data_folder_out": str(tmp_path / "broker" / "queue"),
            "control_folder": str(tmp_path / "broker" / "control"),
        }
        pong = probe.send_task("portal.ping", queue="default").get(timeout=60)
        # A number connected at the simulator goes live: signed webhooks into the portal, the
        # worker applies them and creates the key through the simulator's Partner API.
        onboarded = httpx.post(
            f"{hub}/_sim/onboard",
            json={"partner_id": "demoPA", "email": "ada@example.com", "numbers": ["4915112345678"]},
        ).json()
        [channel_id] = onboarded["channel_ids"]
        wait_for(
            lambda: httpx.get(f"{hub}/_sim/channels/{channel_id}").json()["keys_created"] == 1,
            timeout=60,
            what="the demo to create the number's API key",
        )
        stored = subprocess.run(
            [sys.executable, "manage.py", "shell", "-v", "0", "-c", SHOW_KEYS],
            cwd=ROOT,
            env={"PATH": os.environ["PATH"], "DJANGO_ENV_FILE": str(tmp_path / "demo.env")},
            capture_output=True,
            text=True,
            timeout=60,
        )
        current_key = httpx.get(f"{hub}/_sim/channels/{channel_id}").json()["current_key"]
        # A management command on the demo's data, as the README shows.
        command = subprocess.run(
            [sys.executable, "manage.py", "shell", "-v", "0", "-c", SHOW_PARTNERS],
            cwd=ROOT,
            env={"PATH": os.environ["PATH"], "DJANGO_ENV_FILE": str(tmp_path / "demo.env")},
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        os.killpg(demo.pid, signal.SIGINT)  # what Ctrl-C does
        output = demo.communicate(timeout=60)[0].decode()

    assert signup is not None and signup.status_code == 200
    assert "Demo Telecom" in signup.text
    assert login is not None and login.status_code == 200
    assert ready is not None and ready.json()["checks"] == {"database": "ok", "broker": "ok"}
    assert pong == "pong"
    assert command.stdout.split() == ["demo", f"{base}/p/demo/"], command.stderr
    # The simulator knows the demo partner, with the webhook URL the portal shows.
    [simulated] = hub_state["partners"]
    webhook_url = next(line.split()[-1] for line in output.splitlines() if "Webhook URL:" in line)
    assert (simulated["partner_id"], simulated["webhook_url"]) == ("demoPA", webhook_url)
    assert simulated["require_io_signature"] is True
    assert f"Hub simulator: {hub}/_sim/state" in output
    assert stored.stdout.split() == [channel_id, current_key["fingerprint"]], stored.stderr
    assert "Subject: Your WhatsApp number +49 1511 2345678 is ready" in output
    assert f"Admin:        {base}/admin/   login: admin / " in output
    assert f"Signup page:  {base}/p/demo/" in output
    # Its own PostgreSQL, stopped with the rest; the access log names no webhook token.
    assert f"Starting PostgreSQL (embedded, data in {tmp_path / 'postgres'})" in output
    assert not (tmp_path / "postgres" / "postmaster.pid").exists()
    access_log = [line for line in output.splitlines() if "gunicorn.access" in line]
    token = webhook_url.rstrip("/").rsplit("/", 1)[-1]
    assert any('"POST /webhooks/360dialog/[redacted]/ HTTP/1.1" 200' in x for x in access_log)
    assert not [line for line in access_log if token in line]
    with pytest.raises(ProcessLookupError):
        os.killpg(demo.pid, 0)  # every process of the demo has stopped


def _start_demo(data_dir: Path, port: int, hubsim_port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PORTAL_PORT": str(port),
        "HUBSIM_PORT": str(hubsim_port),
        "DEMO_DATA_DIR": str(data_dir),
    }
    demo = subprocess.Popen(
        [sys.executable, "scripts/demo.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for(lambda: _get(f"http://127.0.0.1:{port}/readyz"), timeout=120, what="the demo")
    wait_for(lambda: _get(f"http://127.0.0.1:{hubsim_port}/_sim/health"), timeout=60, what="hub")
    return demo


def _stop_demo(demo: subprocess.Popen[bytes]) -> str:
    os.killpg(demo.pid, signal.SIGINT)
    return demo.communicate(timeout=60)[0].decode()


def _demo_manage(data_dir: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "DJANGO_ENV_FILE": str(data_dir / "demo.env")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


SHOW_ONBOARDINGS = (
    "from clients.models import Onboarding; from portal.tenancy import all_partners_scope\n"
    "with all_partners_scope(): [print(o.status) for o in Onboarding.objects.all()]"
)


def test_a_restarted_demo_remembers_both_sides_and_reconciles_nothing(tmp_path):
    port, hubsim_port = free_port(), free_port()
    hub = f"http://127.0.0.1:{hubsim_port}"
    demo = _start_demo(tmp_path, port, hubsim_port)
    try:
        onboarded = httpx.post(
            f"{hub}/_sim/onboard",
            json={"partner_id": "demoPA", "email": "ada@example.com", "numbers": ["4915112345678"]},
        ).json()
        [channel_id] = onboarded["channel_ids"]
        wait_for(
            lambda: "live" in _demo_manage(tmp_path, "shell", "-v", "0", "-c", SHOW_ONBOARDINGS),
            timeout=60,
            what="the onboarding to go live",
        )
        before = httpx.get(f"{hub}/_sim/channels/{channel_id}").json()
        second = subprocess.run(
            [sys.executable, "scripts/demo.py"],
            cwd=ROOT,
            env={**os.environ, "DEMO_DATA_DIR": str(tmp_path), "PORTAL_PORT": str(free_port())},
            capture_output=True,
            text=True,
            timeout=60,
        )
        still_ready = _get(f"http://127.0.0.1:{port}/readyz")
    finally:
        _stop_demo(demo)

    demo = _start_demo(tmp_path, port, hubsim_port)
    try:
        after = httpx.get(f"{hub}/_sim/channels/{channel_id}").json()
        reconciled = _demo_manage(tmp_path, "reconcile")
        statuses = _demo_manage(tmp_path, "shell", "-v", "0", "-c", SHOW_ONBOARDINGS)
    finally:
        _stop_demo(demo)

    # A second demo on the same folder is refused and leaves the first one alone.
    assert second.returncode == 1
    assert second.stderr.startswith(f"Another demo is running on {tmp_path}")
    assert still_ready is not None and still_ready.status_code == 200
    assert after == before
    assert (after["status"], after["keys_created"]) == ("live", 1)
    assert reconciled.strip().splitlines()[-1] == (
        "demo: 1 clients, 1 channels, 0 corrections, 0 keys queued"
    )
    assert statuses.split() == ["live"]


@pytest.mark.django_db(transaction=True)
def test_tasks_keep_their_database_connection_as_requests_do():
    """Celery's Django fixup closes every connection around each task unless told otherwise:
    a new PostgreSQL session per task. Between tasks a connection is kept (CONN_MAX_AGE)."""
    from celery.fixups.django import DjangoWorkerFixup  # type: ignore[import-untyped]
    from celery.signals import task_postrun, task_prerun
    from django.db import connection

    from portal.celery import app

    fixup = DjangoWorkerFixup(app)
    task = app.tasks["portal.ping"]
    connection.ensure_connection()
    kept = connection.connection

    for _ in range(10):
        fixup.on_task_prerun(task)
        task_prerun.send(sender=task, task_id="t", task=task, args=(), kwargs={})
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        fixup.on_task_postrun(task)
        task_postrun.send(sender=task, task_id="t", task=task, args=(), kwargs={}, retval=None)

    assert connection.connection is kept
