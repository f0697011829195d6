"""Writes about end clients, their onboardings and timelines."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from clients.event_data import onboarding_data
from clients.models import Client, Onboarding, TimelineEntry
from dialog360.objects import ClientInfo
from events.services import domain_event_record
from portal.columns import fitted
from portal.models import Partner

# Statuses the partner's platform hears about (outbound events onboarding.live, ...failed).
OUTBOUND_STATUSES = (Onboarding.Status.LIVE, Onboarding.Status.FAILED)


def client_upsert(
    *,
    partner: Partner,
    hub_client_id: str,
    info: ClientInfo | None = None,
    name: str = "",
    email: str = "",
    nowait: bool = False,
) -> Client:
    """The partner's client with this 360Dialog id, created if new, updated with what is known
    (each value fitted to its column: 360Dialog documents no lengths); written only when a
    value changed. Runs inside the caller's transaction and scope; the row is locked until it
    commits. `nowait`: raise (django.db.OperationalError) rather than wait for a client another
    transaction holds."""
    values = _client_values(info=info, name=name, email=email)
    client = (
        Client.objects.select_for_update(nowait=nowait).filter(hub_client_id=hub_client_id).first()
    )
    if client is None:
        try:
            with transaction.atomic():  # a client made meanwhile is no error: lock that one
                return Client.objects.create(
                    partner=partner,
                    hub_client_id=hub_client_id,
                    **{field: value for field, value in values.items() if value},
                )
        except IntegrityError:
            client = Client.objects.select_for_update(nowait=nowait).get(
                hub_client_id=hub_client_id
            )
    changed = _changed(client, values)
    for field, value in changed.items():
        setattr(client, field, value)
    if changed:
        client.save(update_fields=[*changed, "updated_at"])
    return client


def client_changes(
    client: Client, *, info: ClientInfo | None = None, name: str = "", email: str = ""
) -> dict[str, str]:
    """What client_upsert with these values would change on `client` (nothing is written)."""
    return _changed(client, _client_values(info=info, name=name, email=email))


def _client_values(*, info: ClientInfo | None, name: str, email: str) -> dict[str, str]:
    return fitted(
        Client,
        {
            "name": (info.name if info else "") or name,
            "email": (info.email if info else "") or email,
            "contact_name": info.full_name if info else "",
            "partner_payload": info.partner_payload if info else "",
            "hub_status": info.status if info else "",
        },
    )


def _changed(client: Client, values: dict[str, str]) -> dict[str, str]:
    """The known values that differ from the client's (an empty one keeps the client's)."""
    return {
        field: value for field, value in values.items() if value and getattr(client, field) != value
    }


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


def onboardings_expire(*, now: datetime | None = None) -> int:
    """End what will never finish: unverified returns (no token of ours; anyone can make them)
    that the Partner API has not confirmed within UNVERIFIED_RETURN_HOURS, and signups never
    brought back from 360Dialog, once past their expiry. Both move to `expired`; the number
    moved. Needs a scope over the partners to sweep."""
    now = now or timezone.now()
    unconfirmed_since = now - timedelta(hours=settings.UNVERIFIED_RETURN_HOURS)
    open_statuses = [Onboarding.Status.STARTED, Onboarding.Status.OPENED]
    due = Onboarding.objects.filter(
        Q(verified=False, status__in=[*open_statuses, Onboarding.Status.RETURNED])
        & (Q(expires_at__lte=now) | Q(created_at__lte=unconfirmed_since))
        | Q(status__in=open_statuses, expires_at__lte=now)
    )
    expired = list(due.values_list("pk", "partner_id", "verified"))
    Onboarding.objects.filter(pk__in=[pk for pk, _, _ in expired]).update(
        status=Onboarding.Status.EXPIRED, updated_at=now
    )
    TimelineEntry.objects.bulk_create(
        TimelineEntry(
            partner_id=partner_id,
            onboarding_id=pk,
            kind=TimelineEntry.Kind.STATUS,
            message=(
                "Expired: the Partner API never confirmed this return."
                if not verified
                else "Expired: never brought back from 360Dialog."
            ),
            data={"status": Onboarding.Status.EXPIRED},
        )
        for pk, partner_id, verified in expired
    )
    return len(expired)


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
    if status in OUTBOUND_STATUSES:
        domain_event_record(
            partner=onboarding.partner,
            type=f"onboarding.{status}",
            data=onboarding_data(onboarding),
        )
    return True


def onboarding_details_update(
    *, onboarding: Onboarding, contact_name: str, phone_number: str
) -> None:
    """A second signup from the same browser goes on with its open onboarding: a name or
    number typed anew replaces the old one until 360Dialog has been opened with it and come
    back (what went to 360Dialog stays as it was)."""
    if onboarding.returned_at is not None:
        return
    values = {"contact_name": contact_name, "phone_number": phone_number}
    changed = [name for name, value in values.items() if getattr(onboarding, name) != value]
    if not changed:
        return
    for name in changed:
        setattr(onboarding, name, values[name])
    onboarding.save(update_fields=[*changed, "updated_at"])
    timeline_add(
        onboarding=onboarding,
        kind=TimelineEntry.Kind.NOTE,
        message="Signed up again from the same browser: " + ", ".join(changed) + " updated.",
    )
