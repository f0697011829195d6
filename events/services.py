"""Recording domain events (the outbox) and their one public shape.

`domain_event_record` is called by the domain's writes inside their transaction: the event
exists exactly when the change it reports was committed."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from events.models import EVENT_TYPES, DomainEvent
from events.signals import domain_event_committed
from portal.models import Partner

PAYLOAD_VERSION = 1


def domain_event_record(*, partner: Partner, type: str, data: dict[str, Any]) -> DomainEvent:
    """Write the event in the caller's transaction; once it commits, readers are woken
    (domain_event_committed). Raises ValueError for a type not in EVENT_TYPES."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    event = DomainEvent.objects.create(partner=partner, type=type, data=data)
    partner_id, event_id = partner.pk, event.pk
    transaction.on_commit(
        lambda: domain_event_committed.send_robust(
            sender=DomainEvent, partner_id=partner_id, event_id=event_id
        )
    )
    return event


def event_document(event: DomainEvent) -> dict[str, Any]:
    """What is sent and what the feed shows: a stable shape, versioned."""
    return {
        "id": str(event.public_id),
        "type": event.type,
        "version": PAYLOAD_VERSION,
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": event.data,
    }
