"""Fixed-window request limits kept in the cache (Redis in production), per client address and
per partner, for the public pages. A limit is "count/seconds": at most `count` requests in each
window of `seconds`. Settings: RATE_LIMITS_ENABLED and RATE_LIMITS (README: Security)."""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)
_RATE = re.compile(r"(\d+)/(\d+)")


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """ "20/600" -> 20 requests per 600 seconds. Raises ValueError for anything else."""
        match = _RATE.fullmatch(text.strip())
        if match is None or int(match.group(2)) == 0:
            raise ValueError(f"a rate limit is count/seconds, e.g. 20/600; got {text!r}")
        return cls(count=int(match.group(1)), seconds=int(match.group(2)))


def rate_limit_exceeded(*, name: str, address: str, partner_id: int) -> int | None:
    """Count one request to `name` (signup, launch, return, status) from `address` for the
    partner. Returns the seconds to wait when a limit is exceeded, else None. The address is
    counted first; a request it refuses does not use up the partner's allowance, so one
    address cannot block everyone. If the cache is unreachable, requests are let through."""
    if not settings.RATE_LIMITS_ENABLED:
        return None
    for scope, key in (("ip", address), ("partner", str(partner_id))):
        rate = Rate.parse(settings.RATE_LIMITS[f"{name}_{scope}"])
        try:
            wait = _count(f"{name}:{scope}:{key}", rate)
        except Exception:  # the cache (Redis) is down: serve rather than fail every page
            logger.warning("rate limit not checked: cache unavailable", exc_info=True)
            return None
        if wait is not None:
            logger.info("rate limited", extra={"limit": name, "scope": scope, "wait": wait})
            return wait
    return None


def _count(key: str, rate: Rate) -> int | None:
    now = time.time()
    window = int(now // rate.seconds)
    cache_key = f"ratelimit:{key}:{window}"
    timeout = rate.seconds + 1
    if cache.add(cache_key, 1, timeout=timeout):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr: a new window
            cache.add(cache_key, 1, timeout=timeout)
            count = 1
    if count <= rate.count:
        return None
    return max(1, math.ceil((window + 1) * rate.seconds - now))
