"""The relay: publishes committed rows to the workers, so that no request waits for the broker.

Writes that a worker must act on are committed first (webhook deliveries, domain events). The
relay runs each of RELAYS (dotted paths to functions that claim, publish and mark a batch,
returning how many rows they moved) until none has anything left, then waits RELAY_IDLE_SECONDS
or until a PostgreSQL notification on RELAY_CHANNEL wakes it, whichever comes first. While rows
keep coming, each pass waits RELAY_LINGER_SECONDS for more, so a burst becomes tasks of many
events instead of a task per event.

Domain events wake it: an AFTER INSERT trigger on their table (portal migration 0007) notifies
when their transaction commits. Webhook deliveries do not (webhooks migration 0006), and are
found by the relay's next look instead, at most RELAY_IDLE_SECONDS after they were stored.
PostgreSQL holds one lock over the whole database from a notifying transaction's commit until
its WAL is flushed, so notifying commits cannot share a flush: with a notification per
delivery, the webhook INSERTs committed one flush at a time, and while the workers drained a
backlog, each flush was slower and the requests queued behind it.

Nothing is lost if the relay is not running: the rows stay in the database and the beat sweeps
publish them (later). Several relays may run: each claims rows with SKIP LOCKED.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils.module_loading import import_string

from portal.tenancy import all_partners_scope

logger = logging.getLogger(__name__)
Relay = Callable[[], int]


def relays() -> list[tuple[str, Relay]]:
    return [(path, import_string(path)) for path in settings.RELAYS]


def relay_pass(functions: list[tuple[str, Relay]]) -> tuple[int, bool]:
    """Run every relay once: (rows moved, whether one failed). A failing relay (the broker is
    down) is logged and leaves its rows for the next pass; the others still run."""
    moved, failed = 0, False
    with all_partners_scope():
        for path, function in functions:
            try:
                moved += function()
            except Exception:
                logger.warning(
                    "relay %s failed; its rows wait for the next pass", path, exc_info=True
                )
                failed = True
    return moved, failed


@contextmanager
def _listening() -> Iterator[Any]:
    """A connection of its own, in autocommit, listening on RELAY_CHANNEL."""
    listener = connection.get_new_connection(connection.get_connection_params())
    try:
        listener.autocommit = True
        listener.execute(f"LISTEN {settings.RELAY_CHANNEL}")
        yield listener
    finally:
        listener.close()


def _woken(listener: Any, stop: threading.Event, seconds: float) -> None:
    """Return at the first notification, after `seconds`, or soon after `stop` is set."""
    deadline = time.monotonic() + seconds
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        if list(listener.notifies(timeout=min(left, 1.0), stop_after=1)):
            _drain(listener)
            return


def _drain(listener: Any) -> None:
    """Consume the notifications already received: one pass answers them all."""
    for _notification in listener.notifies(timeout=0):
        pass


def relay_forever(stop: threading.Event, after_pass: Callable[[], None] | None = None) -> None:
    """Relay until `stop` is set; a lost database or broker is waited for, with backoff.
    `after_pass` is called after each pass in which every relay succeeded (a heartbeat: it
    goes stale while the database or the broker is down)."""
    functions = relays()
    pause = 0.0
    while not stop.is_set():
        try:
            with _listening() as listener:
                logger.info("relay listening on %s", settings.RELAY_CHANNEL)
                while not stop.is_set():
                    close_old_connections()  # as a request would: CONN_MAX_AGE, broken ones
                    moved, failed = relay_pass(functions)
                    if after_pass is not None and not failed:
                        after_pass()
                    if failed:
                        pause = min(max(pause * 2, 0.5), 10.0)
                        stop.wait(pause)
                        continue
                    pause = 0.0
                    if moved:
                        _drain(listener)  # what they announced was just moved (or is next)
                        # While rows keep coming, let a few more arrive: fewer, larger tasks.
                        stop.wait(settings.RELAY_LINGER_SECONDS)
                        continue
                    _woken(listener, stop, settings.RELAY_IDLE_SECONDS)
        except Exception:  # the database went away: wait, then listen again
            logger.warning("relay lost its database connection; retrying", exc_info=True)
            close_old_connections()
            pause = min(max(pause * 2, 0.5), 10.0)
            stop.wait(pause)
