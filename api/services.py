"""Writes of the partner API: its tokens, the audited read of a channel's key, and resyncs."""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from api.models import ApiToken
from audit.models import AuditEntry
from audit.services import audit_record
from channels.models import ApiKey, Channel
from clients.invites import INVITE_LIFETIME, invite_prepare, invite_url, invites_revoke
from clients.models import Invite, Onboarding
from events.models import DomainEvent
from portal.models import Partner
from portal.queueing import enqueue_on_commit
from portal.tenancy import all_partners_scope
from portal.tokens import token_hash, token_new, token_shaped

TOKEN_PREFIX = "ppt_"  # noqa: S105 - not a secret: how our tokens begin
PREFIX_LENGTH = len(TOKEN_PREFIX) + 8  # what the admin shows to recognise a token by
# Writing "last used" once a minute is enough to answer "is this token still in use?".
LAST_USED_EVERY = timedelta(seconds=60)


class TokenRefusedError(Exception):
    """The bearer token is unknown, revoked or expired, or its partner is inactive."""


def api_token_create(
    *,
    partner: Partner,
    name: str,
    scopes: list[str],
    expires_at: datetime | None = None,
    created_by: User | None = None,
) -> tuple[ApiToken, str]:
    """A new token and its secret, which is returned only here: only its hash is stored."""
    secret = api_token_secret_new()
    token = ApiToken(partner=partner, name=name, scopes=sorted(set(scopes)))
    token.expires_at = expires_at
    token.created_by = created_by
    api_token_prepare(token, secret)
    token.save()
    return token, secret


def api_token_secret_new() -> str:
    return TOKEN_PREFIX + token_new(nbytes=32)


def api_token_prepare(token: ApiToken, secret: str) -> None:
    """Give an unsaved token this secret's hash and prefix (and its scopes in order)."""
    token.scopes = sorted(set(token.scopes))
    token.token_hash = token_hash(secret)
    token.prefix = secret[:PREFIX_LENGTH]


def api_tokens_revoke(*, token_ids: list[int]) -> int:
    return ApiToken.objects.filter(pk__in=token_ids, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def api_token_authenticate(*, secret: str, ip: str | None) -> ApiToken:
    """The usable token with this secret, its last use recorded. Raises TokenRefusedError.

    Looked up across partners: the secret is what says whose it is."""
    if not (secret.startswith(TOKEN_PREFIX) and token_shaped(secret)):
        raise TokenRefusedError("The token is not valid.")
    with all_partners_scope():
        token = ApiToken.objects.select_related("partner").filter(token_hash=token_hash(secret))
        found = token.first()
        if found is None or not found.partner.is_active:
            raise TokenRefusedError("The token is not valid.")
        if found.revoked_at is not None:
            raise TokenRefusedError("The token was revoked.")
        if not found.usable():
            raise TokenRefusedError("The token has expired.")
        now = timezone.now()
        if found.last_used_at is None or now - found.last_used_at >= LAST_USED_EVERY:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now, last_used_ip=ip or None)
            found.last_used_at, found.last_used_ip = now, ip or None
    return found


class KeyReadRefusedError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ChannelNotFoundError(Exception):
    pass


def channel_api_key_read(
    *, partner: Partner, token: ApiToken, channel_id: str, ip: str | None
) -> ApiKey:
    """The channel's current key, for the partner's platform; audited whatever the outcome.
    Raises ChannelNotFoundError for a channel the partner does not have (not audited: there
    is nothing to name), KeyReadRefusedError when reads are off or there is no current key."""
    channel = Channel.objects.filter(hub_channel_id=channel_id).first()
    if channel is None:
        raise ChannelNotFoundError(channel_id)

    def audit(outcome: str, reason: str = "", **data: object) -> None:
        audit_record(
            partner=partner,
            action="api_key.read",
            actor=f"API token {token.name}",
            target_type="channel",
            target_id=channel.hub_channel_id,
            target_label=channel.label,
            outcome=outcome,
            reason=reason,
            ip=ip,
            data={"token_prefix": token.prefix, **data},
        )

    if not partner.api_key_reads_enabled:
        audit(AuditEntry.Outcome.REFUSED, "API key reads are off for this partner")
        raise KeyReadRefusedError(
            "api_key_reads_disabled",
            "Reading API keys through the API is off for this partner; an administrator of "
            "the portal can switch it on.",
        )
    key = ApiKey.objects.filter(channel=channel, revoked_at__isnull=True).first()
    if key is None:
        audit(AuditEntry.Outcome.REFUSED, "the channel has no current key")
        raise KeyReadRefusedError(
            "no_current_key",
            "This channel has no current API key yet; the event channel.api_key_ready "
            "says when it has one.",
        )
    audit(AuditEntry.Outcome.OK, fingerprint=key.fingerprint)
    return key


@dataclass(frozen=True)
class Resync:
    task: str
    target: str


def onboarding_resync(*, onboarding: Onboarding) -> Resync:
    """Queue a Partner API check of the onboarding's client and channels (after commit)."""
    enqueue_on_commit("channels.check_onboarding", onboarding.partner_id, onboarding.pk)
    return Resync(task="channels.check_onboarding", target=str(onboarding.public_id))


def channel_resync(*, channel: Channel) -> Resync:
    """Queue a Partner API check for the channel: through its onboarding, or the partner's
    whole reconciliation when it has none."""
    if channel.onboarding_id is not None:
        enqueue_on_commit("channels.check_onboarding", channel.partner_id, channel.onboarding_id)
        return Resync(task="channels.check_onboarding", target=channel.hub_channel_id)
    enqueue_on_commit("channels.reconcile_partner", channel.partner_id)
    return Resync(task="channels.reconcile_partner", target=channel.hub_channel_id)


def parse_public_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def invite_create(
    *,
    partner: Partner,
    email: str = "",
    contact_name: str = "",
    phone_number: str = "",
    partner_payload: str = "",
    expires_at: datetime | None = None,
) -> tuple[Invite, str]:
    """A new invite and the link to send (shown once: only its token's hash is kept)."""
    invite = Invite(
        partner=partner,
        email=email,
        contact_name=contact_name,
        phone_number=phone_number,
        partner_payload=partner_payload,
        expires_at=expires_at or timezone.now() + INVITE_LIFETIME,
    )
    token = invite_prepare(invite)
    invite.save()
    return invite, invite_url(partner=partner, token=token)


def invite_revoke(*, invite: Invite) -> Invite:
    invites_revoke(invite_ids=[invite.pk])
    invite.refresh_from_db()
    return invite


# The feed shows an event once it is this old: a transaction that took its id earlier but
# committed later is then visible before a poller moves past that id.
FEED_SETTLE = timedelta(seconds=5)


def feed_cursor_encode(position: int) -> str:
    return base64.urlsafe_b64encode(f"e{position}".encode()).decode().rstrip("=")


def feed_cursor_decode(cursor: str) -> int:
    """Raises ValueError for anything that is not one of our cursors."""
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError(cursor) from None
    if not raw.startswith("e") or not raw[1:].isdigit():
        raise ValueError(cursor)
    return int(raw[1:])


def event_feed(*, after: int, limit: int, type: str | None = None) -> list[DomainEvent]:
    events = DomainEvent.objects.filter(pk__gt=after, created_at__lte=timezone.now() - FEED_SETTLE)
    if type:
        events = events.filter(type=type)
    return list(events.order_by("pk")[:limit])
