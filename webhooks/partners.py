"""The partner a webhook URL's token names, remembered for a few seconds in each process.

The receiving path runs for every delivery, often hundreds a second in a burst: asking the
database (and decrypting the partner's platform secret) for each one was a third of its time.
An answer, found or not, is kept for WEBHOOK_PARTNER_CACHE_SECONDS (5 s by default), so a token
rotated away, a deactivated partner or a replaced platform secret takes effect within that
time in every process; 360Dialog retries what is refused meanwhile.
"""

from __future__ import annotations

import threading
import time

from django.conf import settings

from portal.models import Partner
from portal.selectors import partner_for_webhook_token

# Tokens seen recently, by token: (expires at, partner or None). Bounded: random tokens from a
# scanner cannot grow it without limit.
_seen: dict[str, tuple[float, Partner | None]] = {}
_lock = threading.Lock()
MAX_ENTRIES = 1024


def webhook_partner(token: str) -> Partner | None:
    """The active partner whose webhook URL carries `token`, at most a few seconds old."""
    ttl = settings.WEBHOOK_PARTNER_CACHE_SECONDS
    now = time.monotonic()
    entry = _seen.get(token)
    if entry is not None and entry[0] > now:
        return entry[1]
    partner = partner_for_webhook_token(token)
    if ttl > 0:
        with _lock:
            if len(_seen) >= MAX_ENTRIES:
                _seen.clear()
            _seen[token] = (now + ttl, partner)
    return partner


def webhook_partners_forget() -> None:
    """Forget every remembered answer (tests; a process that must see a change at once)."""
    with _lock:
        _seen.clear()
