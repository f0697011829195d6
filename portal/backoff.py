"""Exponential backoff with full jitter, from RETRY_BACKOFF_SECONDS, and the retry of a task."""

from __future__ import annotations

import random
from typing import Any

from celery import Task
from django.conf import settings
from django.db import InterfaceError, OperationalError

MAX_BACKOFF_SECONDS = 30 * 60.0


def backoff_seconds(attempt: int, *, at_least: float = 0.0) -> float:
    """Seconds to wait before retry number `attempt` (1 for the first retry): a random pause up
    to base * 2^(attempt-1), capped at 30 minutes, never below `at_least` (a Retry-After)."""
    base = float(settings.RETRY_BACKOFF_SECONDS)
    ceiling = min(base * 2 ** max(attempt - 1, 0), MAX_BACKOFF_SECONDS)
    jittered = ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - not for secrets
    return float(max(jittered, min(at_least, MAX_BACKOFF_SECONDS)))


# Database errors that a later attempt can get past: a deadlock or serialization failure
# (OperationalError), a connection lost or reset (OperationalError, InterfaceError).
TRANSIENT_DATABASE_ERRORS = (OperationalError, InterfaceError)


def task_retry_later(
    task: Task[Any, Any],
    error: Exception,
    *,
    max_retries: int,
    args: tuple[Any, ...] | None = None,
) -> None:
    """Raise the task's retry (with other `args`, if given) after a backoff that honours a
    Retry-After (`error.retry_after`); return when `max_retries` retries are used up, for the
    caller to record the failure."""
    attempt = task.request.retries + 1
    if attempt <= max_retries:
        at_least = getattr(error, "retry_after", None) or 0.0
        countdown = backoff_seconds(attempt, at_least=at_least)
        raise task.retry(args=args, countdown=countdown, exc=error) from None
