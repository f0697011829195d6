"""Writes about channels: 360Dialog's events applied through the lifecycle table, permission,
and the keys' revocation. Every function runs in its caller's transaction and partner scope.

Row locks are taken in one order everywhere: a client, then its channel (then the onboarding,
by the writes that follow). Two transactions about the same client then queue on the client's
row instead of each holding what the other waits for. Queries lock only their own rows
(`select_for_update(of=("self",))`): a joined client is read, not locked, out of that order.

Applying an event about a known channel whose client has nothing new locks the channel alone,
loaded in one query with its client, onboarding and whether it holds a key, and writes only the
columns that changed. The client is locked first only when it is written (a new channel, or new
details); a channel already locked takes its client only if it is free (NOWAIT), so it never
waits for a client out of order: a busy client fails the event, and its retry takes the order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from enum import StrEnum
from functools import cache
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection
from django.db.models import Model
from django.utils import timezone

from channels.event_data import channel_data
from channels.lifecycle import EVENT_STATUS, KEY_STATUSES, Move, move
from channels.linking import onboarding_for_client
from channels.models import ApiKey, Channel
from clients.models import Client, Onboarding, TimelineEntry
from clients.services import client_changes, client_upsert, timeline_add
from dialog360.events import ChannelEvent, ChannelNoticeEvent
from dialog360.objects import ChannelInfo, PayloadError
from events.services import domain_event_record
from portal.columns import fitted
from portal.models import Partner
from portal.queueing import enqueue_item_on_commit


class ChannelNotKnownYetError(Exception):
    """An event about a channel whose own events have not arrived yet."""


def channel_get_locked(*, partner: Partner, info: ChannelInfo) -> Channel:
    """The partner's channel with this 360Dialog id, created (with its client) if new, and
    locked until the caller's transaction ends; its client and onboarding are loaded, and
    whether it holds a current key is known (channel_has_current_key)."""
    if not info.client_id:
        raise PayloadError(f"channel {info.id} names no client (data.client_id)")
    channel = channel_locked(partner=partner, by="hub_channel_id", value=info.id)
    if channel is not None:
        client = channel.client
        if client.hub_client_id != info.client_id or client_changes(
            client, name=info.client_name, email=info.client_email
        ):
            # New details for the client: the channel is locked already, so take the client
            # only if it is free (see the module docstring).
            client_upsert(
                partner=partner,
                hub_client_id=info.client_id,
                name=info.client_name,
                email=info.client_email,
                nowait=True,
            )
    else:
        client = client_upsert(
            partner=partner,
            hub_client_id=info.client_id,
            name=info.client_name,
            email=info.client_email,
        )
        # The client is locked: whoever else makes this channel waits for it. Look again.
        channel = channel_locked(partner=partner, by="hub_channel_id", value=info.id)
        if channel is None:
            channel = Channel.objects.create(
                partner=partner,
                client=client,
                hub_channel_id=info.id,
                onboarding=onboarding_for_client(client=client),
                **{field: value for field, value in _details(info).items() if value},
            )
            channel.has_current_key = False  # type: ignore[attr-defined]
    if channel.onboarding_id is None:
        channel.onboarding = onboarding_for_client(client=channel.client)
        channel_save(channel, ["onboarding"])
    return channel


def channel_locked(*, partner: Partner, by: str, value: int | str) -> Channel | None:
    """The partner's channel whose `by` ("pk" or "hub_channel_id") is `value`, locked (its row
    only), with its client and onboarding and whether it holds a current key: what applying an
    event or making a key reads, in one query.

    Every event and key runs this, so its SQL is written once (from the models' columns)
    rather than compiled by the ORM each time, which cost more than running it; the rows become
    model instances as the ORM's own would (Model.from_db)."""
    with connection.cursor() as cursor:
        cursor.execute(_locked_sql(_LOCKED_BY[by]), [partner.pk, value])
        row = cursor.fetchone()
    if row is None:
        return None
    channel = _instance(Channel, row)
    channel.client = _instance(Client, row)
    onboarding = _instance(Onboarding, row)
    channel.onboarding = onboarding if onboarding.pk is not None else None
    channel.has_current_key = bool(row[-1])  # type: ignore[attr-defined]
    channel.partner = partner  # known already: no query for it later
    return channel


_M = TypeVar("_M", bound=Model)


def _instance(model: type[_M], row: tuple[Any, ...]) -> _M:
    """The `model` instance whose columns sit in this row of _locked_sql."""
    names, start = _row_layout()[model]
    return model.from_db(connection.alias, names, row[start : start + len(names)])


@cache
def _row_layout() -> dict[type[Model], tuple[list[str], int]]:
    """Where each model's columns start in a row of _locked_sql, with their attribute names."""
    layout: dict[type[Model], tuple[list[str], int]] = {}
    start = 0
    for model in (Channel, Client, Onboarding):
        names = [field.attname for field in model._meta.concrete_fields]
        layout[model] = (names, start)
        start += len(names)
    return layout


_LOCKED_BY = {"pk": "id", "hub_channel_id": "hub_channel_id"}


@cache
def _locked_sql(column: str) -> str:
    def columns(model: type[Model], alias: str) -> str:
        return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)

    return f"""
SELECT {columns(Channel, "ch")}, {columns(Client, "cl")}, {columns(Onboarding, "ob")},
       EXISTS (SELECT 1 FROM {ApiKey._meta.db_table} k
               WHERE k.channel_id = ch.id AND k.revoked_at IS NULL)
FROM {Channel._meta.db_table} ch
JOIN {Client._meta.db_table} cl ON cl.id = ch.client_id
LEFT JOIN {Onboarding._meta.db_table} ob ON ob.id = ch.onboarding_id
WHERE ch.partner_id = %s AND ch."{column}" = %s
FOR UPDATE OF ch
"""  # noqa: S608 - table and column names are the models' own; values are parameters


def channel_has_current_key(channel: Channel) -> bool:
    """Whether the channel holds a current key: known from loading it (channel_locked),
    otherwise asked. Loaded, it is what the locking query's snapshot saw, which is older than
    the lock when the query had to wait for it: good enough to decide whether to queue a key
    (provisioning looks again under the lock), not to decide anything that must be exact."""
    known: bool | None = getattr(channel, "has_current_key", None)
    if known is None:
        known = ApiKey.objects.filter(channel=channel, revoked_at__isnull=True).exists()
        channel.has_current_key = known  # type: ignore[attr-defined]
    return known


def channel_save(channel: Channel, fields: Iterable[str]) -> None:
    """Write these columns of the channel (and updated_at), nothing else; nothing when empty."""
    names = sorted(set(fields))
    if names:
        channel.save(update_fields=[*names, "updated_at"])


class Source(StrEnum):
    """Who reports a channel's status."""

    WEBHOOK = "webhook"
    RECONCILIATION = "reconciliation"
    PARTNER_API = "Partner API"


def channel_advance(
    *,
    channel: Channel,
    status: str,
    source: Source,
    info: ChannelInfo | None = None,
    event: str = "",
    event_id: str | None = None,
    new: bool = False,
    unsaved: set[str] | None = None,
) -> Move:
    """The one place a channel's status moves: forward only, by the lifecycle table
    (channels.lifecycle). 360Dialog's details in `info` are copied, fitted to their columns,
    unless the report is stale or names a status we do not know. One timeline entry says what
    happened (none for a report of the status it already has). `new`: the channel was just made
    from this report, so its earlier status was unknown to the portal. The caller holds the
    channel's lock. The columns that changed are saved, or, given `unsaved`, added to it for
    the caller to save with its own changes in one UPDATE."""
    step = move(channel.status, status)
    previous = channel.status
    changed: set[str] = set()
    if info is not None and (new or step in (Move.FORWARD, Move.SAME)):
        changed |= _copy_details(channel, info)
    if step is Move.FORWARD:
        channel.status = status
        channel.status_changed_at = timezone.now()
        changed |= {"status", "status_changed_at"}
    if unsaved is not None:
        unsaved |= changed
    else:
        channel_save(channel, changed)
    _advance_record(channel, step, previous, status, source, event, event_id, new)
    if step is Move.FORWARD:
        domain_event_record(
            partner=channel.partner,
            type="channel.status_changed",
            data=channel_data(channel, previous_status=previous),
        )
    return step


def _advance_record(
    channel: Channel,
    step: Move,
    previous: str,
    status: str,
    source: Source,
    event: str,
    event_id: str | None,
    new: bool,
) -> None:
    onboarding = channel.onboarding
    if onboarding is None:
        return
    data: dict[str, object] = {"status": status, "source": str(source)}
    if event:
        data |= {"event": event, "event_id": event_id}
    if source is Source.RECONCILIATION:
        if new or step is Move.FORWARD:
            was = "unknown to the portal" if new else previous
            timeline_add(
                onboarding=onboarding,
                kind=TimelineEntry.Kind.CORRECTION,
                message=(
                    f"Reconciliation: {channel.label} {was} → {channel.status} "
                    "(a webhook was missed)."
                ),
                data={"status": channel.status, "previous": was},
            )
        return
    reported = "" if source is Source.WEBHOOK else f" (reported by the {source})"
    what = event or f"The {source}"
    if step is Move.FORWARD:
        timeline_add(
            onboarding=onboarding,
            kind=TimelineEntry.Kind.STATUS,
            message=f"{channel.label}: {previous} → {status}{reported}.",
            data=data,
        )
    elif step is Move.STALE:
        timeline_add(
            onboarding=onboarding,
            kind=TimelineEntry.Kind.STALE_EVENT,
            message=f"Ignored {what} for {channel.label}: it is already {previous}.",
            data=data,
        )
    elif step is Move.UNKNOWN:
        timeline_add(
            onboarding=onboarding,
            kind=TimelineEntry.Kind.NOTE,
            message=(
                f"{what} for {channel.label} names an unknown status {status!r}; kept {previous}."
            ),
            data=data,
        )


def channel_apply_event(*, partner: Partner, event: ChannelEvent) -> Channel:
    """Apply a lifecycle or permission event: status forward only, permission as announced.
    The channel's changed columns are written in one UPDATE."""
    info = event.channel
    channel = channel_get_locked(partner=partner, info=info)
    unsaved: set[str] = set()
    channel_advance(
        channel=channel,
        status=EVENT_STATUS.get(event.type, info.status),
        source=Source.WEBHOOK,
        info=info,
        event=event.type,
        event_id=event.event_id,
        unsaved=unsaved,
    )
    if event.type == "channel_permission_granted":
        channel_permission_set(channel=channel, granted=True, source="webhook", unsaved=unsaved)
    elif event.type == "channel_permission_revoked":
        channel_permission_set(channel=channel, granted=False, source="webhook", unsaved=unsaved)
    channel_provision_if_due(channel=channel, unsaved=unsaved)
    channel_save(channel, unsaved)
    return channel


NOTICE_CHANGES: dict[str, dict[str, object]] = {
    "account_violation": {"has_violation": True},
    "account_restriction": {"is_restricted": True},
    "cancellation_request": {"cancellation_requested": True},
    "cancellation_revoke": {"cancellation_requested": False},
}


def channel_apply_notice(*, partner: Partner, event: ChannelNoticeEvent) -> Channel:
    """Violations, restrictions, cancellations and messaging changes. Raises
    ChannelNotKnownYetError for a channel we have not seen (yet)."""
    if event.channel is not None:
        channel = channel_get_locked(partner=partner, info=event.channel)
    else:
        # A notice names no client: the channel alone is locked (it reads no client row).
        found = channel_locked(partner=partner, by="hub_channel_id", value=event.channel_id)
        if found is None:
            # Ahead of the channel's own events: fail now, and the retry finds the channel.
            raise ChannelNotKnownYetError(
                f"{event.type} for channel {event.channel_id}, not seen yet"
            )
        channel = found
    changes = dict(NOTICE_CHANGES.get(event.type, {}))
    if event.type == "cancellation_processed":
        changes["cancelled_at"] = channel.cancelled_at or timezone.now()
    changed = [field for field, value in changes.items() if getattr(channel, field) != value]
    for field in changed:
        setattr(channel, field, changes[field])
    channel_save(channel, changed)
    if event.type == "cancellation_processed":
        api_keys_revoke(channel=channel, reason="channel cancelled")
    if channel.onboarding is not None:
        timeline_add(
            onboarding=channel.onboarding,
            kind=TimelineEntry.Kind.WEBHOOK,
            message=f"{event.type.replace('_', ' ').capitalize()} on {channel.label}.",
            data={"event": event.type, "event_id": event.event_id},
        )
    return channel


def channel_permission_set(
    *, channel: Channel, granted: bool, source: str, unsaved: set[str] | None = None
) -> bool:
    """Record the client's permission; withdrawing it revokes the stored key. True if changed.
    The columns are saved, or added to `unsaved` (as channel_advance)."""
    value = Channel.Permission.GRANTED if granted else Channel.Permission.REVOKED
    if channel.permission == value:
        return False
    channel.permission = value
    channel.permission_changed_at = timezone.now()
    fields = {"permission", "permission_changed_at"}
    if unsaved is not None:
        unsaved |= fields
    else:
        channel_save(channel, fields)
    if granted and channel.api_key_error:
        # What made key creation fail may have been the missing permission: try again.
        channel_api_key_error_clear(channel=channel, why="permission granted")
    if not granted:
        api_keys_revoke(channel=channel, reason="permission withdrawn")
    if channel.onboarding is not None:
        what = "granted" if granted else "withdrawn"
        timeline_add(
            onboarding=channel.onboarding,
            kind=TimelineEntry.Kind.PERMISSION,
            message=f"Permission for {channel.label} {what} ({source}).",
            data={"permission": value, "source": source},
        )
    domain_event_record(
        partner=channel.partner, type="channel.permission_changed", data=channel_data(channel)
    )
    return True


def channel_api_key_error_clear(*, channel: Channel, why: str) -> None:
    """Forget the last final failure to create the channel's key, so provisioning may try
    again; the timeline says why."""
    error = channel.api_key_error
    channel.api_key_error = ""
    channel.api_key_error_at = None
    channel.save(update_fields=["api_key_error", "api_key_error_at", "updated_at"])
    if channel.onboarding is not None:
        timeline_add(
            onboarding=channel.onboarding,
            kind=TimelineEntry.Kind.API_KEY,
            message=f"Trying the API key for {channel.label} again ({why}).",
            data={"previous_error": error},
        )


def api_keys_revoke(*, channel: Channel, reason: str) -> int:
    """Mark the channel's current key revoked; the number of keys marked. Asks the database,
    not the hint channel_has_current_key gives: a key made while this transaction waited for
    the channel's lock is revoked too."""
    revoked = ApiKey.objects.filter(channel=channel, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason
    )
    channel.has_current_key = False  # type: ignore[attr-defined]
    if revoked and channel.onboarding is not None:
        timeline_add(
            onboarding=channel.onboarding,
            kind=TimelineEntry.Kind.API_KEY,
            message=f"API key of {channel.label} revoked: {reason}.",
            data={"reason": reason},
        )
    if revoked:
        domain_event_record(
            partner=channel.partner,
            type="channel.api_key_revoked",
            data=channel_data(channel, reason=reason),
        )
    return revoked


def channel_may_have_key(channel: Channel) -> bool:
    """Running, not cancelled, and the partner may manage it (Partner Payment, or permission)
    and can (it has a Partner API key)."""
    partner = channel.partner
    return (
        bool(partner.api_key)
        and channel.status in KEY_STATUSES
        and channel.cancelled_at is None
        and (
            partner.payment_mode == Partner.PaymentMode.PARTNER
            or channel.permission == Channel.Permission.GRANTED
        )
    )


def channel_provision_if_due(*, channel: Channel, unsaved: set[str] | None = None) -> bool:
    """Enqueue key provisioning after commit when the channel may have a key, has none, and
    none is being made. A final failure stays final: not retried on the next event about the
    same state (that sent "needs attention", then "ready", within a second), only once
    something changes (permission granted anew) or an account manager retries. A queued or
    running provisioning is marked on the channel (`key_requested_at`, cleared when it ends):
    further events queue none until it ends, or until API_KEY_REQUEST_SECONDS have passed (a
    message the broker lost: reconciliation queues it again then). The marker is saved, or
    added to `unsaved` (as channel_advance)."""
    if channel.api_key_error or not channel_may_have_key(channel):
        return False
    requested = channel.key_requested_at
    if requested is not None and requested > timezone.now() - timedelta(
        seconds=settings.API_KEY_REQUEST_SECONDS
    ):
        return False
    if channel_has_current_key(channel):
        return False
    channel.key_requested_at = timezone.now()
    if unsaved is not None:
        unsaved.add("key_requested_at")
    else:
        channel.save(update_fields=["key_requested_at"])
    enqueue_item_on_commit("channels.provision_api_keys", channel.partner_id, channel.pk)
    return True


def _details(info: ChannelInfo) -> dict[str, str]:
    """360Dialog's details of the channel, each fitted to its column."""
    return fitted(
        Channel,
        {
            "account_mode": info.account_mode,
            "phone_number": info.phone_number,
            "phone_name": info.phone_name,
            "waba_id": info.waba_id,
        },
    )


def _copy_details(channel: Channel, info: ChannelInfo) -> set[str]:
    """Copy 360Dialog's details onto the channel (an empty one keeps ours); the columns that
    changed."""
    changed: set[str] = set()
    for field, value in _details(info).items():
        if value and getattr(channel, field) != value:
            setattr(channel, field, value)
            changed.add(field)
    return changed
