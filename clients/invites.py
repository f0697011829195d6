"""Invite links: the signup page, pre-filled by an account manager."""

from __future__ import annotations

import secrets
from contextlib import suppress
from datetime import timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from clients.models import Invite
from dialog360.io_link import normalize_number

INVITE_LIFETIME = timedelta(days=14)


def invite_prepare(invite: Invite) -> Invite:
    """A new invite's token, and its number in 360Dialog's form."""
    invite.token = secrets.token_urlsafe(24)
    if invite.phone_number:
        with suppress(ValueError):  # else kept as typed; the client corrects it on the form
            invite.phone_number = normalize_number(invite.phone_number)
    return invite


def invite_url(invite: Invite) -> str:
    path = reverse("clients:signup", args=[invite.partner.slug])
    return f"{settings.PUBLIC_BASE_URL}{path}?invite={invite.token}"


def invites_revoke(*, invite_ids: list[int]) -> int:
    return Invite.objects.filter(pk__in=invite_ids, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
