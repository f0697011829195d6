"""Invite links: the signup page, pre-filled by an account manager."""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from clients.models import Invite
from dialog360.io_link import normalize_number
from portal.models import Partner
from portal.tokens import token_hash, token_new

INVITE_LIFETIME = timedelta(days=14)


def invite_prepare(invite: Invite) -> str:
    """A new (unsaved) invite's token, and its number in 360Dialog's form. Returns the token,
    of which only the hash is stored: build its link (invite_url) now, it cannot be later."""
    token = token_new(nbytes=24)
    invite.token_hash = token_hash(token)
    if invite.phone_number:
        with suppress(ValueError):  # else kept as typed; the client corrects it on the form
            invite.phone_number = normalize_number(invite.phone_number)
    return token


def invite_url(*, partner: Partner, token: str) -> str:
    path = reverse("clients:signup", args=[partner.slug])
    return f"{settings.PUBLIC_BASE_URL}{path}?invite={token}"


def invite_link_renew(*, invite: Invite) -> str:
    """A fresh token for the invite: the link made before stops working. Returns the token,
    of which only the hash is stored: build its link (invite_url) now, it cannot be later."""
    token = token_new(nbytes=24)
    invite.token_hash = token_hash(token)
    Invite.objects.filter(pk=invite.pk).update(
        token_hash=invite.token_hash, updated_at=timezone.now()
    )
    return token


def invites_revoke(*, invite_ids: list[int]) -> int:
    return Invite.objects.filter(pk__in=invite_ids, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
