"""Exactly one live API key per channel.

360Dialog revokes every earlier key when it creates one, so creating is done under the
channel's row lock: return if a current key exists, confirm status and permission through the
Partner API, make one bounded call, and store the key (encrypted) in the same transaction.
Retryable failures (429, 5xx, transport) propagate for the task to retry with backoff; a final
one is recorded on the channel and the onboarding, and nothing is retried.
"""

from __future__ import annotations

import hashlib
import logging
from enum import StrEnum

from django.db import transaction
from django.utils import timezone

from channels.hub import partner_api
from channels.lifecycle import KEY_STATUSES
from channels.linking import onboarding_refresh
from channels.models import ApiKey, Channel
from channels.services import (
    Source,
    api_keys_revoke,
    channel_advance,
    channel_may_have_key,
    channel_permission_set,
)
from clients.models import Notification, Onboarding, TimelineEntry
from clients.notifications import notification_create
from clients.services import onboarding_status_set, timeline_add
from dialog360.api import CreatedApiKey
from dialog360.errors import FinalError
from dialog360.objects import ChannelInfo
from portal.models import Partner

logger = logging.getLogger(__name__)


class Outcome(StrEnum):
    CREATED = "created"
    EXISTS = "exists"  # a current key is stored: nothing to do
    NOT_ELIGIBLE = "not_eligible"  # not running, cancelled, or no permission (here or at 360Dialog)
    FAILED = "failed"  # a final error, recorded


def channel_api_key_provision(
    *, partner: Partner, channel_id: int, replace: bool = False, reason: str = "replaced"
) -> Outcome:
    """Run inside the partner's scope. Raises dialog360.errors.RetryableError for the caller to
    retry later; everything else ends here. `replace` creates a new key even though one is
    stored (rotation); the stored one is revoked in the same transaction."""
    with transaction.atomic():
        channel = Channel.objects.select_for_update().select_related("client").get(pk=channel_id)
        channel.partner = partner
        current = ApiKey.objects.filter(channel=channel, revoked_at__isnull=True).exists()
        if current and not replace:
            return Outcome.EXISTS
        if not channel_may_have_key(channel):
            return Outcome.NOT_ELIGIBLE
        try:
            with partner_api(partner) as api:
                if not _confirmed(channel, api_channel=api.get_channel(channel.hub_channel_id)):
                    return Outcome.NOT_ELIGIBLE
                if partner.payment_mode == Partner.PaymentMode.DIRECT:
                    shared = api.shared_numbers(channel.client.hub_client_id)
                    if not shared.includes(
                        channel_id=channel.hub_channel_id, phone_number=channel.phone_number
                    ):
                        channel_permission_set(channel=channel, granted=False, source="Partner API")
                        return Outcome.NOT_ELIGIBLE
                created = api.create_api_key(channel.hub_channel_id)
        except FinalError as error:
            _record_failure(channel, str(error))
            return Outcome.FAILED
        _store(channel, created, reason=reason)
        return Outcome.CREATED


def channel_api_key_give_up(*, channel_id: int, reason: str) -> None:
    """Retries ran out: record it where the admin shows it."""
    with transaction.atomic():
        channel = Channel.objects.select_for_update().get(pk=channel_id)
        _record_failure(channel, reason)


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


def _store(channel: Channel, created: CreatedApiKey, *, reason: str) -> ApiKey:
    api_keys_revoke(channel=channel, reason=reason)
    key = ApiKey.objects.create(
        partner_id=channel.partner_id,
        channel=channel,
        hub_key_id=created.id[:64],
        key=created.api_key,
        last4=created.api_key[-4:],
        fingerprint=hashlib.sha256(created.api_key.encode()).hexdigest()[:16],
        address=created.address if created.address.startswith("https://") else "",
        app_id=created.app_id[:64],
    )
    if channel.api_key_error:
        channel.api_key_error = ""
        channel.api_key_error_at = None
        channel.save(update_fields=["api_key_error", "api_key_error_at", "updated_at"])
    onboarding = channel.onboarding
    if onboarding is not None:
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
