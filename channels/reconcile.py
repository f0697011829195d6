"""Reconciliation with the Partner API: what the webhooks missed, applied and recorded.

Pages through the partner's clients and channels; a channel whose status at 360Dialog is ahead
of ours moves forward (never back) with a correction on its onboarding's timeline; on Direct
Payment, permission follows `shared_client_numbers`; channels that may have a key and have
none are queued for provisioning.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.db import DatabaseError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from channels.hub import partner_api
from channels.lifecycle import KEY_STATUSES, Move
from channels.linking import client_apply, onboarding_attach_client, onboarding_number_elsewhere
from channels.models import Channel
from channels.services import (
    Source,
    channel_advance,
    channel_get_locked,
    channel_permission_set,
    channel_provision_if_due,
)
from clients.models import Client, Onboarding, TimelineEntry
from clients.proof import payload_names
from clients.services import timeline_add
from dialog360.api import PartnerApiClient, SharedNumbers
from dialog360.objects import ChannelInfo, PayloadError
from portal.models import Partner

logger = logging.getLogger(__name__)


@dataclass
class Reconciliation:
    clients: int = 0
    channels: int = 0
    corrections: int = 0
    provisioning: int = 0
    # One line per client or channel that could not be applied ("channel <id>: <error>").
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        counts = asdict(self)
        counts["failed"] = len(counts.pop("failures"))
        return counts

    def failed(self, item: str, error: Exception) -> None:
        self.failures.append(f"{item}: {type(error).__name__}: {error}"[:500])
        logger.warning(
            "reconciliation skipped an item", extra={"item": item, "error": type(error).__name__}
        )


def partner_reconcile(*, partner: Partner) -> Reconciliation:
    """Run inside the partner's scope. Partner API errors propagate (the next run retries), after
    the channels that should have a key are queued anyway. A client or channel that cannot be
    applied is rolled back, listed in `failures` and skipped: one bad item never stops the
    partner's reconciliation. Each channel is locked on its own."""
    result = Reconciliation()
    try:
        with partner_api(partner) as api:
            for client_info in api.iter_clients():
                try:
                    with transaction.atomic():
                        client_apply(partner=partner, info=client_info)
                except DatabaseError as error:
                    result.failed(f"client {client_info.id}", error)
                    continue
                result.clients += 1
            for channel_info in api.iter_channels():
                try:
                    with transaction.atomic():
                        corrections = channel_reconcile(partner=partner, info=channel_info)
                except (DatabaseError, PayloadError) as error:
                    result.failed(f"channel {channel_info.id}", error)
                    continue
                result.corrections += corrections
                result.channels += 1
            if partner.payment_mode == Partner.PaymentMode.DIRECT:
                for client in Client.objects.filter(channels__isnull=False).distinct():
                    result.corrections += _permissions_reconcile(api, client, result)
    finally:
        # Except channels whose last attempt failed for good (an account manager retries
        # those).
        result.provisioning = _queue_keys(
            Channel.objects.filter(
                status__in=KEY_STATUSES, cancelled_at__isnull=True, api_key_error=""
            )
        )
    return result


def _permissions_reconcile(
    api: PartnerApiClient, client: Client, result: Reconciliation | None = None
) -> int:
    """Direct Payment: each of the client's channels as 360Dialog's shared numbers say. A
    channel that cannot be changed is listed in `result` (when given) and skipped."""
    shared = api.shared_numbers(client.hub_client_id)
    asked_at = timezone.now()
    corrections = 0
    for channel_pk in client.channels.values_list("pk", flat=True):
        try:
            with transaction.atomic():
                channel = Channel.objects.select_for_update(of=("self",)).get(pk=channel_pk)
                corrections += _permission_reconcile(channel, shared, asked_at)
        except DatabaseError as error:
            if result is None:
                raise
            result.failed(f"permission of channel {channel_pk}", error)
    return corrections


def _permission_reconcile(channel: Channel, shared: SharedNumbers, asked_at: datetime) -> int:
    if channel.permission_changed_at and channel.permission_changed_at > asked_at:
        return 0  # changed while we asked: newer than our answer
    granted = shared.includes(channel_id=channel.hub_channel_id, phone_number=channel.phone_number)
    if not granted and channel.permission == Channel.Permission.UNKNOWN:
        return 0  # never granted: nothing was withdrawn
    return int(channel_permission_set(channel=channel, granted=granted, source="reconciliation"))


def _queue_keys(channels: QuerySet[Channel]) -> int:
    """Queue provisioning for those of `channels` that should have a key and have none; each is
    locked on its own. The number queued."""
    queued = 0
    for channel_pk in list(channels.values_list("pk", flat=True)):
        with transaction.atomic():
            channel = Channel.objects.select_for_update().get(pk=channel_pk)
            queued += channel_provision_if_due(channel=channel)
    return queued


def channel_reconcile(*, partner: Partner, info: ChannelInfo) -> int:
    """Apply 360Dialog's view of one channel; 1 if it corrected ours, else 0."""
    new = not Channel.objects.filter(hub_channel_id=info.id).exists()
    channel = channel_get_locked(partner=partner, info=info)
    step = channel_advance(
        channel=channel, status=info.status, source=Source.RECONCILIATION, info=info, new=new
    )
    return int(new or step is Move.FORWARD)


def onboarding_check(*, partner: Partner, onboarding_id: int) -> int:
    """After a return: what 360Dialog says about the client the redirect named. The client is
    linked to this onboarding only on proof that only the client's own flow carries: 360Dialog
    stores this onboarding's link code (or CRM reference) on the client, and the return came
    with our token for this onboarding (clients.proof). A client id alone proves nothing (it
    travels in every redirect URL): without proof the claim is written on the timeline for an
    account manager, and nothing is granted (no client, no numbers, no mails). Once linked,
    the client's channels and permission are applied as for reconciliation, and keys are
    queued. The number of corrections."""
    onboarding = Onboarding.objects.get(pk=onboarding_id)
    hub_client_id = str(onboarding.return_data.get("client") or "")
    if not hub_client_id:
        return 0
    corrections = 0
    with partner_api(partner, onboarding_id=onboarding.pk) as api:
        known = list(api.iter_clients(filters={"id": hub_client_id}))
        if not known:
            timeline_add(
                onboarding=onboarding,
                kind=TimelineEntry.Kind.ERROR,
                message=(
                    f"360Dialog does not know client {hub_client_id}: the return is not trusted."
                ),
            )
            return 0
        with transaction.atomic():
            # Links the onboarding the client's own signup named, whichever that is.
            client = client_apply(partner=partner, info=known[0])
            onboarding = Onboarding.objects.select_for_update().get(pk=onboarding_id)
            linked = onboarding.client_id == client.pk
            if not linked and _proven(onboarding, client):
                onboarding_attach_client(onboarding=onboarding, client=client)
                linked = True
            elif not linked and not onboarding_number_elsewhere(
                onboarding=onboarding, client=client
            ):
                _claim_record(onboarding, hub_client_id)
            if linked:
                timeline_add(
                    onboarding=onboarding,
                    kind=TimelineEntry.Kind.NOTE,
                    message=f"Confirmed by the Partner API: client {hub_client_id}.",
                )
        direct = partner.payment_mode == Partner.PaymentMode.DIRECT
        if not (linked and direct):  # a linked Direct Payment client is checked in full below
            corrections += _withdrawals_confirm(api, client, onboarding.return_data)
        if not linked:
            return corrections
        for info in api.iter_channels(filters={"client_id": hub_client_id}):
            with transaction.atomic():
                corrections += channel_reconcile(partner=partner, info=info)
        if partner.payment_mode == Partner.PaymentMode.DIRECT:
            corrections += _permissions_reconcile(api, client)
    _queue_keys(Channel.objects.filter(client=client))
    return corrections


def _withdrawals_confirm(
    api: PartnerApiClient, client: Client, return_data: dict[str, object]
) -> int:
    """The client withdrew permission on the permission page (`revoked=[...]` on any return,
    with our token or without, proven or not): the withdrawn numbers' keys go out of use at
    once, but only those 360Dialog's shared numbers confirm are no longer shared. A return
    alone never takes a key away. The number of channels changed."""
    revoked = [str(value) for value in return_data.get("revoked") or []]  # type: ignore[attr-defined]
    channel_pks = list(
        Channel.objects.filter(client=client, hub_channel_id__in=revoked).values_list(
            "pk", flat=True
        )
    )
    if not channel_pks:
        return 0
    shared = api.shared_numbers(client.hub_client_id)
    asked_at = timezone.now()
    changed = 0
    for channel_pk in channel_pks:
        with transaction.atomic():
            channel = Channel.objects.select_for_update(of=("self",)).get(pk=channel_pk)
            granted = shared.includes(
                channel_id=channel.hub_channel_id, phone_number=channel.phone_number
            )
            if not granted and not (
                channel.permission_changed_at and channel.permission_changed_at > asked_at
            ):
                changed += int(
                    channel_permission_set(
                        channel=channel,
                        granted=False,
                        source="withdrawn on 360Dialog's permission page, confirmed by the "
                        "Partner API",
                    )
                )
    return changed


def _proven(onboarding: Onboarding, client: Client) -> bool:
    """The return carried our token for this onboarding, which has no client yet, and 360Dialog
    says the client signed up through this onboarding's own link."""
    return (
        onboarding.verified
        and onboarding.client_id is None
        and payload_names(client.partner_payload, onboarding)
    )


def _claim_record(onboarding: Onboarding, hub_client_id: str) -> None:
    how = "with our link" if onboarding.verified else "without our link"
    timeline_add(
        onboarding=onboarding,
        kind=TimelineEntry.Kind.ERROR,
        message=(
            f"The return ({how}) names client {hub_client_id}, but 360Dialog does not say "
            "that client signed up through this onboarding: not linked, nothing shown or sent. "
            "An account manager can review the claim."
        ),
        data={"claimed_client": hub_client_id},
    )
