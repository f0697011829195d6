"""Before the test suite: are PostgreSQL and Redis reachable? Says which is not, and how to fix it.

Run as `python -m scripts.check_services`; exits 0 when both answer, 3 otherwise.
"""

from __future__ import annotations

import os
import sys

import psycopg
import redis

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
TIMEOUT_SECONDS = 3

HOW_TO_START = {
    "PostgreSQL": (
        "start it (on Debian: pg_ctlcluster --skip-systemctl-redirect "
        "$(ls /etc/postgresql) main start) or point DATABASE_URL at a running server"
    ),
    "Redis": (
        "start it (redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' "
        "--appendonly no) or point REDIS_URL at a running server"
    ),
}


def postgres_error(url: str) -> str | None:
    # The test database is created next to the `postgres` maintenance database, which must answer.
    try:
        conninfo = psycopg.conninfo.make_conninfo(url, dbname="postgres")
        with psycopg.connect(conninfo, connect_timeout=TIMEOUT_SECONDS) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def _redis_error(url: str) -> str | None:
    try:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=TIMEOUT_SECONDS, socket_timeout=TIMEOUT_SECONDS
        )
        client.ping()
    except redis.RedisError as exc:
        return str(exc) or type(exc).__name__
    return None


def unreachable_services(database_url: str, redis_url: str) -> list[str]:
    """One line per service that does not answer, naming it, the URL's host and the fix."""
    problems = []
    for name, url, error in (
        ("PostgreSQL", database_url, postgres_error(database_url)),
        ("Redis", redis_url, _redis_error(redis_url)),
    ):
        if error is not None:
            where = url.split("@")[-1]  # never print a password
            problems.append(f"{name} is unreachable at {where} ({error}): {HOW_TO_START[name]}.")
    return problems


def main() -> int:
    problems = unreachable_services(
        os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL,
    )
    for line in problems:
        print(line, file=sys.stderr)
    return 3 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
