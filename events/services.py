"""Recording domain events (the outbox) and their one public shape.

`domain_event_record` is called by the domain's writes inside their transaction: the event
exists exactly when the change it reports was committed. Readers are woken by the row's trigger
once it commits (the relay, `manage.py relay`); nothing is sent from here."""

from __future__ import annotations

from typing import Any

from events.models import EVENT_TYPES, DomainEvent
from portal.models import Partner

PAYLOAD_VERSION = 1


def domain_event_record(*, partner: Partner, type: str, data: dict[str, Any]) -> DomainEvent:
    """Write the event in the caller's transaction. Raises ValueError for a type not in
    EVENT_TYPES."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    return DomainEvent.objects.create(partner=partner, type=type, data=data)


def event_document(event: DomainEvent) -> dict[str, Any]:
    """What is sent and what the feed shows: a stable shape, versioned."""
    return {
        "id": str(event.public_id),
        "type": event.type,
        "version": PAYLOAD_VERSION,
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": event.data,
    }
