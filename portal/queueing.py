"""Enqueueing that never fails the caller: work is always in the database first, and the sweeps
re-enqueue what never reached the broker."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task

logger = logging.getLogger(__name__)


def enqueue(task: Task[Any, Any], *args: Any, countdown: float | None = None) -> bool:
    """Send `task` now (no publish retries: a request must not wait for a broker that is down).
    False, with a warning, if the broker could not take it."""
    try:
        if countdown is None:
            task.apply_async(args, retry=False)
        else:
            task.apply_async(args, countdown=countdown, retry=False)
    except Exception:  # the broker is down or unreachable; the sweep will enqueue it again
        logger.warning("could not enqueue %s; the sweep will retry", task.name, exc_info=True)
        return False
    return True
