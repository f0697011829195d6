"""The files a user reads and runs agree with the code: settings documented, compose complete."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

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


def test_compose_runs_every_process_with_health_checks_and_named_volumes():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]

    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "beat"}
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert services[name]["healthcheck"]["test"], name
    assert "command" not in services["web"]  # the image's own command: gunicorn
    assert 'CMD ["gunicorn", "portal.wsgi"' in (ROOT / "Dockerfile").read_text()
    assert services["worker"]["command"][:4] == ["celery", "-A", "portal", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "portal", "beat"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        assert services[name]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert set(compose["volumes"]) == {"postgres-data", "redis-data", "beat-data"}
    mounted = {
        volume.split(":")[0]
        for service in services.values()
        for volume in service.get("volumes", [])
    }
    assert mounted == set(compose["volumes"])
