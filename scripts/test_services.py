"""`make test`'s PostgreSQL and Redis: run a command with DATABASE_URL and REDIS_URL set.

The services are the ones given in DATABASE_URL and REDIS_URL, or else the standard local ones
(postgres://postgres@127.0.0.1:5432/portal, redis://127.0.0.1:6379/0). When DATABASE_URL is not
given and no PostgreSQL answers at the standard address, a PostgreSQL server of our own is
started for the run (scripts/embedded_db.py, data in var/test-postgres) and stopped after it.
Says which database it used. A service that was given, or Redis, and does not answer stops the
run at once with the reason and how to start it (exit status 3).

    python -m scripts.test_services pytest [args...]
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from scripts import embedded_db
from scripts.check_services import (
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    postgres_error,
    unreachable_services,
)

ROOT = Path(__file__).resolve().parent.parent
EMBEDDED_PGDATA = ROOT / "var" / "test-postgres"


def main(command: list[str]) -> int:
    given = os.environ.get("DATABASE_URL", "").strip()
    database_url = given or DEFAULT_DATABASE_URL
    redis_url = os.environ.get("REDIS_URL", "").strip() or DEFAULT_REDIS_URL
    started = False
    if not given and postgres_error(database_url) is not None:
        print(
            f"No PostgreSQL answers at {database_url.split('@')[-1]}: starting one of our own "
            f"(embedded, data in {EMBEDDED_PGDATA.relative_to(ROOT)}).",
            flush=True,
        )
        database_url = embedded_db.start(EMBEDDED_PGDATA, database="portal")
        started = True
    try:
        problems = unreachable_services(database_url, redis_url)
        for line in problems:
            print(line, file=sys.stderr)
        if problems:
            return 3
        where = "embedded, started for this run" if started else database_url.split("@")[-1]
        print(f"PostgreSQL: {where}; Redis: {redis_url.split('@')[-1]}", flush=True)
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url}
        return subprocess.call(command, env=env)  # noqa: S603 - our own command line
    finally:
        if started:
            embedded_db.stop(EMBEDDED_PGDATA)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1:]))
