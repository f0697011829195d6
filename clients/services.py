"""Writes about end clients, their onboardings and timelines."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from typing import Any

from django.utils import timezone

from clients.models import Client, Onboarding, TimelineEntry
from dialog360.objects import ClientInfo
from portal.models import Partner


def client_upsert(
    *,
    partner: Partner,
    hub_client_id: str,
    info: ClientInfo | None = None,
    name: str = "",
    email: str = "",
) -> Client:
    """The partner's client with this 360Dialog id, created if new, updated with what is known.
    Runs inside the caller's transaction and scope; the row is locked until it commits."""
    client, _ = Client.objects.get_or_create(partner=partner, hub_client_id=hub_client_id)
    client = Client.objects.select_for_update().get(pk=client.pk)
    values = {
        "name": (info.name if info else "") or name,
        "email": (info.email if info else "") or email,
        "contact_name": info.full_name if info else "",
        "partner_payload": info.partner_payload if info else "",
        "hub_status": info.status if info else "",
    }
    changed = [
        field for field, value in values.items() if value and getattr(client, field) != value
    ]
    for field in changed:
        setattr(client, field, values[field])
    if changed:
        client.save(update_fields=[*changed, "updated_at"])
    if info and info.partner_payload:
        _onboarding_link_by_payload(client, info.partner_payload)
    return client


def _onboarding_link_by_payload(client: Client, payload: str) -> None:
    """Signup sends the onboarding's public id (or a CRM reference) as `partner`; an onboarding
    that names it and has no client yet belongs to this client."""
    try:
        public_id = uuid.UUID(payload)
    except ValueError:
        return
    onboarding = (
        Onboarding.objects.select_for_update()
        .filter(public_id=public_id, client__isnull=True)
        .first()
    )
    if onboarding is not None:
        onboarding_attach_client(onboarding=onboarding, client=client)


def onboarding_attach_client(*, onboarding: Onboarding, client: Client) -> None:
    """The onboarding belongs to this client. Channels and history that webhooks put on a
    stand-in onboarding (made before we knew which one it was) move over to it."""
    from channels.models import Channel

    onboarding.client = client
    onboarding.save(update_fields=["client", "updated_at"])
    stand_ins = Onboarding.objects.filter(client=client, started_by_webhook=True).exclude(
        pk=onboarding.pk
    )
    from channels.services import onboarding_refresh
    from clients.models import Notification

    Channel.objects.filter(onboarding__in=stand_ins).update(onboarding=onboarding)
    Notification.objects.filter(onboarding__in=stand_ins).update(onboarding=onboarding)
    TimelineEntry.objects.filter(onboarding__in=stand_ins).exclude(
        kind=TimelineEntry.Kind.CREATED
    ).update(onboarding=onboarding)
    stand_ins.delete()
    onboarding_refresh(onboarding)


def onboarding_for_client(client: Client) -> Onboarding:
    """The client's latest onboarding. A client that arrived only through 360Dialog (the hub's
    own link, or before the portal) gets one, so that account managers see it like any other."""
    onboarding = (
        Onboarding.objects.select_for_update().filter(client=client).order_by("-created_at").first()
    )
    if onboarding is not None:
        return onboarding
    onboarding = Onboarding.objects.create(
        partner=client.partner,
        client=client,
        started_by_webhook=True,
        email=client.email,
        contact_name=client.contact_name,
        partner_payload=client.partner_payload,
        # Nobody holds a return token for it: store the hash of one nobody ever saw.
        return_token_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
        expires_at=timezone.now(),
    )
    timeline_add(
        onboarding,
        TimelineEntry.Kind.CREATED,
        "First seen in a 360Dialog webhook (not started on the signup page).",
    )
    return onboarding


def timeline_add(
    onboarding: Onboarding, kind: str, message: str, data: dict[str, Any] | None = None
) -> TimelineEntry:
    return TimelineEntry.objects.create(
        partner_id=onboarding.partner_id,
        onboarding=onboarding,
        kind=kind,
        message=message[:500],
        data=data or {},
    )


def onboarding_status_set(onboarding: Onboarding, status: str, reason: str) -> bool:
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
        onboarding,
        TimelineEntry.Kind.STATUS,
        f"{previous} → {onboarding.get_status_display()}: {reason}",
        {"status": status},
    )
    return True
