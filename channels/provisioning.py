"""Exactly one live API key per channel.

360Dialog revokes every earlier key when it creates one, so creating is done under the
channel's row lock: return if a current key exists, confirm status and permission through the
Partner API, make one bounded call, and store the key (encrypted) in the same transaction.
Retryable failures (429, 5xx, transport) propagate for the task to retry with backoff; a final
one is recorded on the channel and the onboarding, and stays final until the client grants
permission anew or an account manager retries (channel_api_key_retry).

A key 360Dialog created is never lost without a trace. If storing it fails (the database
refused or went away after 360Dialog answered 201), the failure is written on the timeline
when the database lets us, and the error propagates for the task to retry. Every attempt lists
the channel's keys at 360Dialog before creating one: a key the portal never stored (that
failure, or a create whose answer a timeout swallowed) cannot be read back, since 360Dialog
shows a key only once, so the new key replaces it, knowingly and on the timeline, and the
stored key is again 360Dialog's current one.

Locks: only the channel's row (`of=("self",)`). Webhook processing locks a client, then its
channels; taking the client here as well, in whatever order the query plan chose, deadlocked
against it.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from enum import StrEnum

from django.db import DatabaseError, transaction
from django.utils import timezone

from channels.event_data import api_key_data
from channels.hub import PartnerApiSession, partner_api_session
from channels.lifecycle import KEY_STATUSES
from channels.linking import onboarding_refresh
from channels.models import ApiKey, Channel
from channels.services import (
    Source,
    api_keys_revoke,
    channel_advance,
    channel_api_key_error_clear,
    channel_locked,
    channel_may_have_key,
    channel_permission_set,
    channel_provision_if_due,
)
from clients.models import Notification, Onboarding, TimelineEntry
from clients.notifications import notification_create
from clients.services import onboarding_status_set, timeline_add
from dialog360.api import ApiKeyInfo, CreatedApiKey
from dialog360.errors import FinalError, RateLimitedError, RetryableError, TransportError
from dialog360.objects import ChannelInfo
from events.services import domain_event_record
from portal.backoff import TRANSIENT_DATABASE_ERRORS
from portal.columns import fitted
from portal.models import Partner

logger = logging.getLogger(__name__)


class Outcome(StrEnum):
    CREATED = "created"
    EXISTS = "exists"  # a current key is stored: nothing to do
    NOT_ELIGIBLE = "not_eligible"  # not running, cancelled, or no permission (here or at 360Dialog)
    FAILED = "failed"  # a final error, recorded
    GONE = "gone"  # the channel was deleted since the key was queued


def channel_api_key_provision(
    *, partner: Partner, channel_id: int, replace: bool = False, reason: str = "replaced"
) -> Outcome:
    """Run inside the partner's scope. Raises dialog360.errors.RetryableError (and database
    errors) for the caller to retry later; everything else ends here. `replace` creates a new
    key even though one is stored (rotation); the stored one is revoked in the same
    transaction. A channel whose last attempt failed for good is left alone unless
    `replace`."""
    with partner_api_session(partner) as session:
        return _provision(partner, channel_id, session, replace=replace, reason=reason)


@dataclass
class KeysRun:
    """What channel_api_keys_provision did: each channel's outcome; the channels to try again
    later, each with its error (`failed`); those it had no time for (`left`)."""

    outcomes: dict[int, Outcome] = field(default_factory=dict)
    failed: dict[int, Exception] = field(default_factory=dict)
    left: list[int] = field(default_factory=list)

    @property
    def error(self) -> Exception | None:
        """The last error met (its Retry-After, if any, sets the pause before a retry)."""
        return next(reversed(self.failed.values()), None)


# Errors that will meet the next channel too: 360Dialog asks us to wait, or cannot be reached.
_STOPPING = (RateLimitedError, TransportError)


def channel_api_keys_provision(
    *, partner: Partner, channel_ids: list[int], seconds: float
) -> KeysRun:
    """Each channel as channel_api_key_provision, one after the other, each in a transaction
    of its own, over one connection to 360Dialog (the calls' records written once, at the
    end). A retryable error (a 5xx, a deadlock) puts the channel in `failed` and the run goes
    on; one that the next channel would meet too (429, transport) puts it and every channel
    after it in `failed`. No channel is started after `seconds`: those are `left`."""
    run = KeysRun()
    deadline = time.monotonic() + seconds
    with partner_api_session(partner) as session:
        for index, channel_id in enumerate(channel_ids):
            if time.monotonic() > deadline:
                run.left = channel_ids[index:]
                break
            try:
                run.outcomes[channel_id] = _provision(partner, channel_id, session)
            except Channel.DoesNotExist:
                run.outcomes[channel_id] = Outcome.GONE
            except (RetryableError, *TRANSIENT_DATABASE_ERRORS) as error:
                if isinstance(error, _STOPPING):
                    run.failed.update(dict.fromkeys(channel_ids[index:], error))
                    break
                run.failed[channel_id] = error
    return run


def _provision(
    partner: Partner,
    channel_id: int,
    session: PartnerApiSession,
    *,
    replace: bool = False,
    reason: str = "replaced",
) -> Outcome:
    created: CreatedApiKey | None = None
    try:
        with transaction.atomic():
            channel = _locked(channel_id, partner)
            # Rolled back with the rest when a retryable error propagates: the retry is queued.
            _request_done(channel)
            # Asked now, under the lock: the loading query's answer predates a wait for it.
            current = ApiKey.objects.filter(channel=channel, revoked_at__isnull=True).exists()
            channel.has_current_key = current  # type: ignore[attr-defined]
            if current and not replace:
                return Outcome.EXISTS
            if channel.api_key_error and not replace:
                return Outcome.FAILED  # final until something changes (see the module)
            if not channel_may_have_key(channel):
                return Outcome.NOT_ELIGIBLE
            try:
                with session.about(
                    channel_id=channel.pk, onboarding_id=channel.onboarding_id
                ) as api:
                    api_channel = api.get_channel(channel.hub_channel_id)
                    if not _confirmed(channel, api_channel=api_channel):
                        return Outcome.NOT_ELIGIBLE
                    if partner.payment_mode == Partner.PaymentMode.DIRECT:
                        shared = api.shared_numbers(channel.client.hub_client_id)
                        if not shared.includes(
                            channel_id=channel.hub_channel_id, phone_number=channel.phone_number
                        ):
                            channel_permission_set(
                                channel=channel, granted=False, source="Partner API"
                            )
                            return Outcome.NOT_ELIGIBLE
                    _note_unknown_keys(channel, api.list_api_keys(channel.hub_channel_id))
                    created = api.create_api_key(channel.hub_channel_id)
            except FinalError as error:
                _record_failure(channel, str(error))
                return Outcome.FAILED
            _store(channel, created, reason=reason)
            return Outcome.CREATED
    except DatabaseError as error:
        if created is not None:
            _record_unstored(channel_id, partner, created, error)
        raise


def channel_api_key_give_up(*, channel_id: int, reason: str) -> None:
    """Retries ran out: record it where the admin shows it."""
    with transaction.atomic():
        channel = Channel.objects.select_for_update(of=("self",)).get(pk=channel_id)
        _request_done(channel)
        _record_failure(channel, reason)


def channel_api_key_retry(*, channel_id: int, by: str) -> bool:
    """An account manager tries again after a final failure: the error is cleared and a key
    is queued. False when there was no failure to retry."""
    with transaction.atomic():
        channel = Channel.objects.select_for_update(of=("self",)).get(pk=channel_id)
        if not channel.api_key_error:
            return False
        channel_api_key_error_clear(channel=channel, why=f"retried by {by}")
        return channel_provision_if_due(channel=channel)


def channel_api_key_rotate(*, partner: Partner, channel_id: int, by: str) -> Outcome:
    """An account manager replaces the key. The stored one stays current until the new one is
    stored (same transaction), so a failure leaves the channel with its working key."""
    return channel_api_key_provision(
        partner=partner, channel_id=channel_id, replace=True, reason=f"rotated by {by}"
    )


def _confirmed(channel: Channel, *, api_channel: ChannelInfo) -> bool:
    """360Dialog agrees the channel is running; a status ahead of ours is taken over."""
    if api_channel.status not in KEY_STATUSES:
        if channel.onboarding is not None:
            timeline_add(
                onboarding=channel.onboarding,
                kind=TimelineEntry.Kind.NOTE,
                message=f"Not creating a key yet: 360Dialog reports {channel.label} as "
                f"{api_channel.status or 'unknown'}.",
            )
        return False
    channel_advance(
        channel=channel, status=api_channel.status, source=Source.PARTNER_API, info=api_channel
    )
    return True


def _locked(channel_id: int, partner: Partner) -> Channel:
    """The channel, locked, with its client, onboarding and whether it holds a current key."""
    channel = channel_locked(partner=partner, by="pk", value=channel_id)
    if channel is None:
        raise Channel.DoesNotExist(f"channel {channel_id}")
    return channel


def _request_done(channel: Channel) -> None:
    """This run answers the queued request: later events may queue another (if still due)."""
    if channel.key_requested_at is not None:
        channel.key_requested_at = None
        channel.save(update_fields=["key_requested_at"])


def _note_unknown_keys(channel: Channel, listed: list[ApiKeyInfo]) -> None:
    """Keys 360Dialog holds for the channel that the portal never stored: the next create
    replaces them (they cannot be read back); say so."""
    if not listed:
        return  # a first key: nothing there to replace
    stored = set(ApiKey.objects.filter(channel=channel).values_list("hub_key_id", flat=True))
    unknown = [key.id for key in listed if key.id not in stored]
    if unknown and channel.onboarding is not None:
        timeline_add(
            onboarding=channel.onboarding,
            kind=TimelineEntry.Kind.API_KEY,
            message=(
                f"360Dialog holds {len(unknown)} key(s) for {channel.label} that the portal "
                "never stored (an earlier attempt's answer was lost); the new key replaces "
                "them."
            ),
            data={"hub_key_ids": unknown},
        )
        logger.warning(
            "api key unknown to the portal replaced",
            extra={"channel": channel.hub_channel_id, "hub_key_ids": unknown},
        )


def _record_unstored(
    channel_id: int, partner: Partner, created: CreatedApiKey, error: DatabaseError
) -> None:
    """360Dialog created a key but storing it failed: write that down in a transaction of its
    own, if the database lets us (the next attempt says so again when it finds the key)."""
    logger.error(
        "api key created at 360Dialog but not stored",
        extra={"channel_id": channel_id, "hub_key_id": created.id, "error": type(error).__name__},
    )
    try:
        with transaction.atomic():
            channel = _locked(channel_id, partner)
            if channel.onboarding is not None:
                timeline_add(
                    onboarding=channel.onboarding,
                    kind=TimelineEntry.Kind.ERROR,
                    message=(
                        f"360Dialog created key {created.id[:64]} for {channel.label}, but "
                        f"storing it failed ({type(error).__name__}); the next attempt "
                        "replaces it."
                    ),
                    data={"hub_key_id": created.id[:64], "error": type(error).__name__},
                )
    except DatabaseError:
        logger.exception("could not record the unstored api key", extra={"channel_id": channel_id})


def _store(channel: Channel, created: CreatedApiKey, *, reason: str) -> ApiKey:
    # Asked under the channel's lock in this transaction, and keys are stored only under it.
    if channel.has_current_key:  # type: ignore[attr-defined]
        api_keys_revoke(channel=channel, reason=reason)
    key = ApiKey.objects.create(
        partner_id=channel.partner_id,
        channel=channel,
        key=created.api_key,
        last4=created.api_key[-4:],
        fingerprint=hashlib.sha256(created.api_key.encode()).hexdigest()[:16],
        **fitted(
            ApiKey,
            {
                "hub_key_id": created.id,
                "address": created.address if created.address.startswith("https://") else "",
                "app_id": created.app_id,
            },
        ),
    )
    if channel.api_key_error:
        channel.api_key_error = ""
        channel.api_key_error_at = None
        channel.save(update_fields=["api_key_error", "api_key_error_at", "updated_at"])
    domain_event_record(
        partner=channel.partner, type="channel.api_key_ready", data=api_key_data(key)
    )
    onboarding = channel.onboarding
    if onboarding is not None:
        onboarding.partner = channel.partner  # the same tenant: no query for it (the mail)
        if onboarding.client_id == channel.client_id:
            onboarding.client = channel.client  # loaded with the channel (the event's data)
        timeline_add(
            onboarding=onboarding,
            kind=TimelineEntry.Kind.API_KEY,
            message=f"API key for {channel.label} created (…{key.last4}, {key.fingerprint}).",
            data={"fingerprint": key.fingerprint, "hub_key_id": key.hub_key_id},
        )
        notification_create(
            onboarding=onboarding,
            key=f"key_ready:{key.pk}",
            kind=Notification.Kind.KEY_READY,
            context={"number": channel.label},
        )
        onboarding_refresh(onboarding=onboarding)
    logger.info("api key created", extra={"channel": channel.hub_channel_id})
    return key


def _record_failure(channel: Channel, reason: str) -> None:
    channel.api_key_error = reason[:500]
    channel.api_key_error_at = timezone.now()
    channel.save(update_fields=["api_key_error", "api_key_error_at", "updated_at"])
    onboarding = channel.onboarding
    logger.warning(
        "api key creation failed", extra={"channel": channel.hub_channel_id, "reason": reason}
    )
    if onboarding is None:
        return
    timeline_add(
        onboarding=onboarding,
        kind=TimelineEntry.Kind.ERROR,
        message=f"Could not create the API key for {channel.label}: {reason}",
    )
    if onboarding_status_set(
        onboarding=onboarding,
        status=Onboarding.Status.FAILED,
        reason="the API key could not be created",
    ):
        notification_create(
            onboarding=onboarding,
            key=f"onboarding_failed:{onboarding.pk}",
            kind=Notification.Kind.ONBOARDING_FAILED,
            # The reason stays on the timeline, for staff: it may be 360Dialog's wording.
            context={"number": channel.label},
        )
