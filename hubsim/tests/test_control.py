"""The control endpoints and the `hubsim` command itself."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys

import httpx
import pytest

from conftest import ROOT, free_port, wait_for
from hubsim.control import HubSimControl
from hubsim.faults import Faults
from hubsim.tests.conftest import API_KEY, PARTNER_ID


def test_fault_switches_are_validated(hubsim):
    cases = {
        "no_such_switch": (True, "unknown fault switch 'no_such_switch'"),
        "webhook_order": ("sideways", "webhook_order must be one of normal, reverse, shuffle"),
        "duplicate_webhooks": ("yes", "duplicate_webhooks must be true or false"),
        "api_errors": ([200], "api_errors must be HTTP error statuses"),
        "webhook_delay": (-1, "webhook_delay must be a number >= 0"),
        "webhook_retries": (1.5, "webhook_retries must be a whole number >= 0"),
        "stop_at": ("done", "stop_at must be one of None, created, submitted"),
    }
    for name, (value, message) in cases.items():
        response = httpx.post(f"{hubsim.base_url}/_sim/faults", json={name: value})
        assert response.status_code == 400, name
        assert message in response.json()["meta"]["developer_message"], name
    assert hubsim.state()["faults"] == {
        **Faults().as_dict(),
        "webhook_delay": 0.0,
        "webhook_retry_delay": 0.05,
    }


def test_a_bad_switch_changes_none_of_the_others(hubsim):
    response = httpx.post(
        f"{hubsim.base_url}/_sim/faults", json={"duplicate_webhooks": True, "webhook_order": "x"}
    )

    assert response.status_code == 400
    assert hubsim.state()["faults"]["duplicate_webhooks"] is False


def test_reset_forgets_everything(hubsim, partner):
    hubsim.onboard(partner_id=PARTNER_ID, email="ada@acme.example", numbers=["4915112345678"])
    hubsim.faults(duplicate_webhooks=True)

    hubsim.reset()

    state = hubsim.state()
    assert (state["partners"], state["clients"], state["channels"], state["deliveries"]) == (
        [],
        [],
        [],
        [],
    )
    assert state["faults"]["duplicate_webhooks"] is False


def test_the_state_never_shows_secrets_or_channel_keys(hubsim, partner):
    [channel_id] = hubsim.onboard(
        partner_id=PARTNER_ID, email="ada@acme.example", numbers=["4915112345678"]
    )["channel_ids"]
    hubsim.wait_idle()
    created = httpx.post(
        f"{hubsim.base_url}/api/v2/partners/{PARTNER_ID}/channels/{channel_id}/api_keys",
        headers={"X-API-Key": API_KEY},
    ).json()

    texts = [
        httpx.get(f"{hubsim.base_url}/_sim/state").text,
        httpx.get(f"{hubsim.base_url}/_sim/channels/{channel_id}").text,
    ]

    for text in texts:
        assert API_KEY not in text
        assert "sim-platform-secret" not in text
        assert created["api_key"] not in text
    assert json.loads(texts[0])["partners"][0]["has_platform_secret"] is True
    assert json.loads(texts[1])["current_key"]["last4"] == created["api_key"][-4:]


def test_partner_registration_is_validated(hubsim):
    for values, message in [
        ({"partner_id": "nope", "api_key": "k"}, "partner id must be letters and digits"),
        ({"partner_id": "newPA"}, "api_key is required for a new partner"),
        ({"partner_id": "newPA", "api_key": "k", "payment_mode": "x"}, "payment_mode must be"),
        (
            {"partner_id": "newPA", "api_key": "k", "require_io_signature": True},
            "require_io_signature needs a platform_secret",
        ),
    ]:
        response = httpx.post(f"{hubsim.base_url}/_sim/partners", json=values)
        assert response.status_code == 400
        assert message in response.json()["meta"]["developer_message"]
    response = httpx.post(
        f"{hubsim.base_url}/_sim/partners",
        json={"partner_id": "newPA", "api_key": "k", "colour": "red"},
    )
    assert response.status_code == 400
    assert "unknown partner fields ['colour']" in response.json()["meta"]["developer_message"]
    assert hubsim.state()["partners"] == []


def test_unknown_paths_and_methods(hubsim):
    assert httpx.get(f"{hubsim.base_url}/api/v2/nothing").status_code == 404
    assert httpx.delete(f"{hubsim.base_url}/_sim/state").status_code == 405


def run_command(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "hubsim", *args],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_command_refuses_bad_faults():
    result = run_command("--faults", '{"webhook_order": "sideways"}')

    assert result.returncode == 1
    assert "--faults: webhook_order must be one of normal, reverse, shuffle" in result.stderr


def test_command_refuses_a_busy_port():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_command("--port", str(port))

    assert result.returncode == 1
    assert f"Port {port} is in use by another program" in result.stderr


def test_command_registers_partners_and_faults_from_the_start(tmp_path):
    partners = tmp_path / "partners.json"
    partners.write_text(
        json.dumps([{"partner_id": "filePA", "api_key": "k", "payment_mode": "direct"}])
    )
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "hubsim",
            "--port",
            str(port),
            "--partners",
            str(partners),
            "--faults",
            '{"duplicate_webhooks": true}',
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with HubSimControl(f"http://127.0.0.1:{port}") as control:
            wait_for(control.healthy, timeout=30, what="the hub simulator")
            state = control.state()
            assert [p["payment_mode"] for p in state["partners"]] == ["direct"]
            assert state["faults"]["duplicate_webhooks"] is True
            control.faults(duplicate_webhooks=False)
            control.reset()  # back to the start values, not to the defaults
            assert control.state()["faults"]["duplicate_webhooks"] is True
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0  # SIGTERM is a clean stop
    assert f"Hub simulator on http://127.0.0.1:{port}" in output


@pytest.mark.parametrize("body", ["not json", "[1]"])
def test_control_bodies_must_be_json_objects(hubsim, body):
    response = httpx.post(f"{hubsim.base_url}/_sim/faults", content=body)

    assert response.status_code == 400


def test_python_m_hubsim_runs_without_the_portals_settings():
    env = {"PATH": os.environ["PATH"], "PYTHONUNBUFFERED": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "hubsim", "--faults", "[]"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 1
    assert result.stderr == "error: --faults: give a JSON object\n"


def _start_hubsim(port: int, *options: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hubsim", "--port", str(port), *options],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _stop_hubsim(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.communicate(timeout=10)
    assert process.returncode == 0


def test_a_state_file_keeps_the_hub_across_a_restart(tmp_path):
    state_file = tmp_path / "hubsim-state.json"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = _start_hubsim(port, "--state", str(state_file), "--faults", '{"webhook_delay": 0}')
    try:
        with HubSimControl(base) as control:
            wait_for(control.healthy, timeout=30, what="the hub simulator")
            control.partner(partner_id=PARTNER_ID, api_key=API_KEY)
            onboarded = control.onboard(
                partner_id=PARTNER_ID, email="ada@example.com", numbers=["4915112345678"]
            )
            [channel_id] = onboarded["channel_ids"]
            control.wait_idle()
            created = httpx.post(
                f"{base}/api/v2/partners/{PARTNER_ID}/channels/{channel_id}/api_keys",
                headers={"X-API-Key": API_KEY},
            )
            assert created.status_code == 201
            before = control.channel(channel_id)
    finally:
        _stop_hubsim(process)
    assert oct(state_file.stat().st_mode & 0o777) == "0o600"  # it holds keys and secrets

    process = _start_hubsim(port, "--state", str(state_file))
    try:
        with HubSimControl(base) as control:
            wait_for(control.healthy, timeout=30, what="the restarted hub simulator")
            after = control.channel(channel_id)
            listed = httpx.get(
                f"{base}/api/v2/partners/{PARTNER_ID}/channels",
                headers={"X-API-Key": API_KEY},
            ).json()
    finally:
        _stop_hubsim(process)

    assert after == before
    assert (after["status"], after["keys_created"]) == ("live", 1)
    key = created.json()["api_key"]
    assert after["current_key"]["fingerprint"] == hashlib.sha256(key.encode()).hexdigest()[:16]
    assert [channel["id"] for channel in listed["partner_channels"]] == [channel_id]


def test_an_unreadable_state_file_is_refused_with_its_name(tmp_path):
    state_file = tmp_path / "state.json"
    state_file.write_text('{"version": 99}')
    result = subprocess.run(
        [sys.executable, "-m", "hubsim", "--port", str(free_port()), "--state", str(state_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert result.returncode == 1
    assert result.stderr.startswith("error: --state: ValueError(")
    assert str(state_file) in result.stderr
