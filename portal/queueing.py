"""Enqueueing by task name, never failing the caller: work is always in the database first, and
the sweeps re-enqueue what never reached the broker.

Tasks are named, not imported: a service enqueues `"channels.provision_api_key"` without
importing the task module that imports the service (a test checks that every name used here is
a registered task). Celery routes by the name's app prefix (CELERY_TASK_ROUTES).
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from django.db import transaction

from portal.celery import app

logger = logging.getLogger(__name__)


def enqueue(name: str, *args: Any) -> bool:
    """Send the task called `name` now (no publish retries: a request must not wait for a
    broker that is down). False, with a warning, if the broker could not take it."""
    try:
        # No result is waited for: without ignore_result, send_task would first subscribe to
        # the result backend, which blocks the request while Redis is down.
        app.send_task(name, args, retry=False, ignore_result=True)
    except Exception:  # the broker is down or unreachable; the sweep will enqueue it again
        logger.warning("could not enqueue %s; the sweep will retry", name, exc_info=True)
        return False
    return True


def publish(name: str, calls: list[tuple[Any, ...]]) -> None:
    """Send the task called `name` once for each argument tuple in `calls`, over one broker
    connection. Unlike `enqueue`, a broker that cannot take them raises: the caller (the relay)
    keeps its rows unmarked and tries again."""
    with app.producer_or_acquire() as producer:  # type: ignore[attr-defined]
        for args in calls:
            app.send_task(name, args, producer=producer, retry=False, ignore_result=True)


def enqueue_on_commit(name: str, *args: Any) -> None:
    """Send the task once the current transaction commits (at once outside a transaction), so
    the worker finds the rows it is about; nothing is sent if the transaction rolls back."""
    transaction.on_commit(lambda: enqueue(name, *args))


def queue_oldest(queue: str) -> tuple[str, list[Any]] | None:
    """The name and arguments of the task waiting longest in `queue` (not yet handed to a
    worker), or None when the queue is empty, the broker is not Redis, or it cannot be read.
    Read-only: the message stays where it is."""
    try:
        with app.connection_for_read() as connection:
            channel = connection.default_channel  # type: ignore[attr-defined]
            client = getattr(channel, "client", None)
            # kombu's Redis transport pushes on the left and takes from the right.
            raw = client.lindex(queue, -1) if client is not None else None
        if raw is None:
            return None
        message = json.loads(raw)
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        return str(message["headers"]["task"]), list(args)
    except Exception:  # an unreadable queue tells us nothing; the caller goes without
        logger.warning("could not read the oldest message of %s", queue, exc_info=True)
        return None
