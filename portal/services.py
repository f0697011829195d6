"""Writes about partners, their staff and their stored secrets."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from portal.encryption import encrypted_fields
from portal.models import Partner
from portal.tokens import token_hash, token_new


@transaction.atomic
def partner_create_or_update(
    *,
    slug: str,
    name: str,
    hub_partner_id: str,
    payment_mode: str,
    hub_url: str | None = None,
    api_base_url: str | None = None,
    io_signature_enabled: bool | None = None,
    api_key: str | None = None,
    platform_secret: str | None = None,
) -> tuple[Partner, bool]:
    """Create the partner with this slug, or update it. Options left as None keep their value.

    Raises `django.core.exceptions.ValidationError` when the result would be invalid (bad id,
    unknown payment mode, signing switched on without a platform secret, ...).
    """
    partner = Partner.objects.select_for_update().filter(slug=slug).first()
    created = partner is None
    if partner is None:
        partner = Partner(slug=slug)
    partner.name = name
    partner.hub_partner_id = hub_partner_id
    partner.payment_mode = payment_mode
    given = {
        "hub_url": hub_url,
        "api_base_url": api_base_url,
        "io_signature_enabled": io_signature_enabled,
        "api_key": api_key,
        "platform_secret": platform_secret,
    }
    for field, value in given.items():
        if value is not None:
            setattr(partner, field, value)
    partner.full_clean()
    partner.save()
    return partner, created


def partner_webhook_token_rotate(*, partner: Partner) -> str:
    """A new webhook token for the partner; the previous URL stops working at once. Returns
    the token, which is stored only as its hash: show its URL (partner_webhook_url) now."""
    token = token_new()
    Partner.objects.filter(pk=partner.pk).update(
        webhook_token_hash=token_hash(token), updated_at=timezone.now()
    )
    partner.webhook_token_hash = token_hash(token)
    return token


def superuser_ensure(*, username: str, password: str) -> AbstractBaseUser:
    """Create the superuser, or make the existing user one, with this password."""
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.is_staff = user.is_superuser = True
    user.set_password(password)
    user.save()
    return user


def encrypted_values_rotate() -> dict[str, int]:
    """Re-encrypt every stored secret under the newest key; returns rows rewritten per model."""
    counts: dict[str, int] = {}
    for model, names in encrypted_fields():
        manager = model._base_manager  # every tenant's rows, not a scoped subset
        count = 0
        for pk in manager.values_list("pk", flat=True).iterator():
            with transaction.atomic():
                row = manager.select_for_update().get(pk=pk)
                # Reading decrypted with whichever key matched; saving encrypts with the first.
                row.save(update_fields=names)
            count += 1
        counts[model._meta.label] = count
    return counts


def partner_io_timestamp_claim(*, partner: Partner, now: float) -> int:
    """A unix second for one IO signature of this partner that no earlier launch used: `now`,
    or the second after the last one claimed when that is later (a burst of launches runs a few
    seconds ahead, well inside 360Dialog's freshness window). One atomic statement: launches in
    any number of processes never share a second."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Partner._meta.db_table} "  # noqa: S608 - our table; values are parameters
            "SET io_last_timestamp = GREATEST(io_last_timestamp + 1, %s) "
            "WHERE id = %s RETURNING io_last_timestamp",
            [int(now), partner.pk],
        )
        row = cursor.fetchone()
    claimed = int(row[0])
    partner.io_last_timestamp = claimed
    return claimed
