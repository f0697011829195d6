"""Enqueueing by task name, never failing the caller: work is always in the database first, and
the sweeps re-enqueue what never reached the broker.

Tasks are named, not imported: a service enqueues `"channels.provision_api_keys"` without
importing the task module that imports the service (a test checks that every name used here is
a registered task). Celery routes by the name's app prefix (CELERY_TASK_ROUTES).

Some tasks take a partner and a list of ids (a key for each channel, a mail for each
notification). A task run gathers what it enqueues of those (`gathered_enqueues`, entered by
portal.entry.partner_task_scope) and sends one task per name and partner when it ends: a batch
of webhooks that brings eight channels to "running" queues one task for their eight keys, not
eight tasks, each with its own round trip through the broker, its partner to load and its
connection to 360Dialog.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.db import transaction

from portal.celery import app

logger = logging.getLogger(__name__)

# At most this many ids in one gathered task: a run stays well inside the task time limit.
BATCH_ITEMS = 25

_gathered: ContextVar[dict[tuple[str, int], list[int]] | None] = ContextVar(
    "gathered_enqueues", default=None
)


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


def enqueue_item_on_commit(name: str, partner_id: int, item: int) -> None:
    """Once the current transaction commits, send `name(partner_id, [item])`; inside
    `gathered_enqueues`, add the item to the one `name(partner_id, [...])` sent when that block
    ends. Nothing is sent or gathered if the transaction rolls back (a savepoint included)."""

    def send() -> None:
        gathered = _gathered.get()
        if gathered is None:
            enqueue(name, partner_id, [item])
            return
        items = gathered.setdefault((name, partner_id), [])
        if item not in items:
            items.append(item)
        if len(items) >= BATCH_ITEMS:  # a full task goes now: a long run does not hold it
            enqueue(name, partner_id, items[:])
            items.clear()

    transaction.on_commit(send)


@contextmanager
def gathered_enqueues() -> Iterator[None]:
    """Gather the items enqueued (enqueue_item_on_commit) by transactions that commit inside
    the block into one task per name and partner, in the order enqueued: sent as soon as it
    holds BATCH_ITEMS ids, and what is left when the block ends, raising or not. A block
    inside another sends its own at its end."""
    gathered: dict[tuple[str, int], list[int]] = {}
    token = _gathered.set(gathered)
    try:
        yield
    finally:
        _gathered.reset(token)
        for (name, partner_id), items in gathered.items():
            if items:
                enqueue(name, partner_id, items)


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
