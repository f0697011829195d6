"""Readiness checks: can this process reach its database and its broker?"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, connections
from kombu import Connection

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2


def database_reachable(alias: str = "default") -> bool:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("database unreachable", extra={"error": type(exc).__name__})
        return False
    return True


def broker_reachable() -> bool:
    connection = Connection(
        settings.CELERY_BROKER_URL,
        connect_timeout=BROKER_TIMEOUT_SECONDS,
        transport_options={
            **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            "socket_timeout": BROKER_TIMEOUT_SECONDS,
            "socket_connect_timeout": BROKER_TIMEOUT_SECONDS,
        },
    )
    try:
        # Connecting opens a channel, which makes a round trip (the Redis transport sends PING).
        connection.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
    except Exception as exc:  # any failure means "not ready"; its kind is logged
        logger.warning("broker unreachable", extra={"error": type(exc).__name__})
        return False
    finally:
        connection.release()
    return True
