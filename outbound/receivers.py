"""Woken when a domain event commits: relay it on the `outbound` queue."""

from __future__ import annotations

from typing import Any

from portal.queueing import enqueue


def domain_event_relay_soon(sender: Any, *, partner_id: int, event_id: int, **kwargs: Any) -> None:
    # Only a wake-up: if the broker is down, the sweep relays the committed row.
    enqueue("outbound.relay", partner_id, event_id)
