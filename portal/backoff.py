"""Exponential backoff with full jitter, from RETRY_BACKOFF_SECONDS."""

from __future__ import annotations

import random

from django.conf import settings

MAX_BACKOFF_SECONDS = 30 * 60.0


def backoff_seconds(attempt: int, *, at_least: float = 0.0) -> float:
    """Seconds to wait before retry number `attempt` (1 for the first retry): a random pause up
    to base * 2^(attempt-1), capped at 30 minutes, never below `at_least` (a Retry-After)."""
    base = float(settings.RETRY_BACKOFF_SECONDS)
    ceiling = min(base * 2 ** max(attempt - 1, 0), MAX_BACKOFF_SECONDS)
    jittered = ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - not for secrets
    return float(max(jittered, min(at_least, MAX_BACKOFF_SECONDS)))
