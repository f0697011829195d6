"""Enqueueing by task name, never failing the caller: work is always in the database first, and
the sweeps re-enqueue what never reached the broker.

Tasks are named, not imported: a service enqueues `"channels.provision_api_key"` without
importing the task module that imports the service (a test checks that every name used here is
a registered task). Celery routes by the name's app prefix (CELERY_TASK_ROUTES).
"""

from __future__ import annotations

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


def enqueue_on_commit(name: str, *args: Any) -> None:
    """Send the task once the current transaction commits (at once outside a transaction), so
    the worker finds the rows it is about; nothing is sent if the transaction rolls back."""
    transaction.on_commit(lambda: enqueue(name, *args))
