"""Writes about end clients, their onboardings and timelines."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from clients.models import Client, Onboarding, TimelineEntry
from dialog360.objects import ClientInfo
from portal.columns import fitted
from portal.models import Partner


def client_upsert(
    *,
    partner: Partner,
    hub_client_id: str,
    info: ClientInfo | None = None,
    name: str = "",
    email: str = "",
) -> Client:
    """The partner's client with this 360Dialog id, created if new, updated with what is known
    (each value fitted to its column: 360Dialog documents no lengths). Runs inside the caller's
    transaction and scope; the row is locked until it commits."""
    client, _ = Client.objects.get_or_create(partner=partner, hub_client_id=hub_client_id)
    client = Client.objects.select_for_update().get(pk=client.pk)
    values = fitted(
        Client,
        {
            "name": (info.name if info else "") or name,
            "email": (info.email if info else "") or email,
            "contact_name": info.full_name if info else "",
            "partner_payload": info.partner_payload if info else "",
            "hub_status": info.status if info else "",
        },
    )
    changed = [
        field for field, value in values.items() if value and getattr(client, field) != value
    ]
    for field in changed:
        setattr(client, field, values[field])
    if changed:
        client.save(update_fields=[*changed, "updated_at"])
    return client


def timeline_add(
    *, onboarding: Onboarding, kind: str, message: str, data: dict[str, Any] | None = None
) -> TimelineEntry:
    """Record something that happened to the onboarding (the message cut to its column)."""
    return TimelineEntry.objects.create(
        partner_id=onboarding.partner_id,
        onboarding=onboarding,
        kind=kind,
        message=message[:500],
        data=data or {},
    )


def onboarding_status_set(*, onboarding: Onboarding, status: str, reason: str) -> bool:
    """Move the onboarding to `status`; True if it changed."""
    if onboarding.status == status:
        return False
    previous = onboarding.get_status_display()
    onboarding.status = status
    fields = ["status", "updated_at"]
    if status == Onboarding.Status.LIVE:
        onboarding.completed_at = timezone.now()
        fields.append("completed_at")
    onboarding.save(update_fields=fields)
    timeline_add(
        onboarding=onboarding,
        kind=TimelineEntry.Kind.STATUS,
        message=f"{previous} → {onboarding.get_status_display()}: {reason}",
        data={"status": status},
    )
    return True
