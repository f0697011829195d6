"""The end client's path: start an onboarding, launch 360Dialog's popup, come back.

The return token travels only in the redirect URL's path; the database keeps its SHA-256. Each
launch mints a fresh token (and a fresh IO signature when the partner signs links), so an older
link stops working. The redirect's parameters are unauthenticated: they are recorded and
correlated, and a Partner API check confirms them before anything depends on them.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from clients.event_data import onboarding_data
from clients.models import Invite, Onboarding, TimelineEntry
from clients.proof import onboarding_link_code
from clients.services import timeline_add
from dialog360.io_link import IoLinkParams, io_link
from dialog360.redirect import Redirect
from dialog360.signatures import io_signature_mint
from events.services import domain_event_record
from portal.models import Partner
from portal.queueing import enqueue_on_commit
from portal.services import partner_io_timestamp_claim

ONBOARDING_LIFETIME = timedelta(days=2)
StrOrPromise = str | Promise


class ReturnError(Exception):
    """A return we refuse; `message` is safe to show the user."""

    def __init__(self, message: StrOrPromise) -> None:
        super().__init__(message)
        self.message = message


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def onboarding_start(
    *,
    partner: Partner,
    email: str,
    contact_name: str = "",
    phone_number: str = "",
    lang: str = "en",
    invite: Invite | None = None,
) -> Onboarding:
    onboarding = Onboarding.objects.create(
        partner=partner,
        email=email,
        contact_name=contact_name,
        phone_number=phone_number,
        lang=lang,
        partner_payload=invite.partner_payload if invite else "",
        expires_at=timezone.now() + ONBOARDING_LIFETIME,
    )
    timeline_add(
        onboarding=onboarding,
        kind=TimelineEntry.Kind.CREATED,
        message="Started on the signup page" + (" from an invite." if invite else "."),
        # Which invite was used (the console shows whether and when each was).
        data={"invite": str(invite.public_id)} if invite else None,
    )
    domain_event_record(
        partner=partner, type="onboarding.started", data=onboarding_data(onboarding)
    )
    return onboarding


def onboarding_launch(*, onboarding: Onboarding) -> str:
    """The hub permission URL for this launch, with every parameter; records the launch.

    An unfinished onboarding launches only within its two days. One the client already came
    back from (to add or withdraw a number) launches at any time: each such visit gets its
    own expiry, as long as a signup's, for its return. Raises ReturnError, changing nothing."""
    now = timezone.now()
    came_back = onboarding.verified and onboarding.status in (
        Onboarding.Status.RETURNED,
        Onboarding.Status.LIVE,
    )
    if onboarding.expires_at <= now and not came_back:
        raise ReturnError(_("This signup link has expired. Please start again."))
    partner = onboarding.partner
    token = secrets.token_urlsafe(32)
    signature = None
    if partner.io_signature_enabled and partner.platform_secret:
        signature = io_signature_mint(
            partner.hub_partner_id,
            partner.platform_secret,
            partner_io_timestamp_claim(partner=partner, now=time.time()),
            partner.io_signature_encoding,  # type: ignore[arg-type]
        )
    params = IoLinkParams(
        email=onboarding.email or None,
        name=onboarding.contact_name or None,
        number=onboarding.phone_number or None,
        state=str(onboarding.public_id),
        redirect_url=return_url(partner, token),
        partner=onboarding.partner_payload or onboarding_link_code(onboarding),
        next="signup",
        lang=onboarding.lang if onboarding.lang in ("en", "de", "pt") else "en",  # type: ignore[arg-type]
        plan_selection=partner.plan_selection,  # type: ignore[arg-type]
        signature=signature,
    )
    # The link first: if it cannot be made, the token the open popup carries stays valid.
    try:
        link = io_link(partner.hub_url, partner.hub_partner_id, params)
    except ValueError:
        raise ReturnError(
            _("Your details could not be sent to 360Dialog. Please start again.")
        ) from None
    onboarding.return_token_hash = token_hash(token)
    onboarding.opened_at = now
    fields = ["return_token_hash", "opened_at", "updated_at"]
    if came_back:
        onboarding.expires_at = max(onboarding.expires_at, now + ONBOARDING_LIFETIME)
        fields.append("expires_at")
    if onboarding.status == Onboarding.Status.STARTED:
        onboarding.status = Onboarding.Status.OPENED
        fields.append("status")
    onboarding.save(update_fields=fields)
    timeline_add(
        onboarding=onboarding,
        kind=TimelineEntry.Kind.LAUNCHED,
        message="360Dialog's popup opened" + (" with a fresh IO signature." if signature else "."),
    )
    return link


def return_url(partner: Partner, token: str) -> str:
    path = reverse("clients:return", kwargs={"partner_slug": partner.slug, "token": token})
    return f"{settings.PUBLIC_BASE_URL}{path}"


def onboarding_return(*, partner: Partner, token: str, redirect: Redirect) -> Onboarding:
    """Record a return that carries our token. Raises ReturnError, changing nothing, for an
    unknown or expired token, another partner's, or a replay with different parameters.

    Locks the client's row before the onboarding's, in the order webhook processing takes them,
    so the two never deadlock."""
    with transaction.atomic():
        # token_hash is never None, so an onboarding without a token (NULL) is never found.
        found = Onboarding.objects.filter(return_token_hash=token_hash(token)).first()
        if found is None:
            # Looked up across partners on purpose, to say whose it is not.
            other = Onboarding._base_manager.filter(return_token_hash=token_hash(token))
            raise ReturnError(
                _("This link belongs to another provider.")
                if other.exists()
                else _("This link is not valid. Please start again from the signup page.")
            )
        if found.expires_at <= timezone.now():
            raise ReturnError(_("This link has expired. Please start again from the signup page."))
        data = _return_data(redirect)
        onboarding = Onboarding.objects.select_for_update().get(pk=found.pk)
        # A launch after the last return minted this token: the client went back to the
        # permission page (to add or withdraw a number), and this is that visit's return.
        new_visit = onboarding.opened_at is not None and (
            onboarding.returned_at is None or onboarding.opened_at > onboarding.returned_at
        )
        if onboarding.returned_at is not None and not new_visit:
            if onboarding.return_data != data:
                raise ReturnError(_("This link was already used."))
            return onboarding  # the same return again (a reload): nothing new
        _record(onboarding, redirect, data)
        return onboarding


def onboarding_return_unverified(*, partner: Partner, redirect: Redirect) -> Onboarding:
    """A return without our token (a direct link, the hub's global redirect URL): recorded as
    unverified until the Partner API confirms the client. The same parameters again (a reload)
    find the same onboarding."""
    data = _return_data(redirect)
    with transaction.atomic():
        _lock_identical_returns(partner, data)
        existing = (
            Onboarding.objects.filter(
                verified=False, return_data=data, expires_at__gt=timezone.now()
            )
            .order_by("-created_at")
            .first()
        )
        if existing is not None:
            return existing
        onboarding = Onboarding.objects.create(
            partner=partner,
            expires_at=timezone.now() + ONBOARDING_LIFETIME,
            verified=False,
        )
        timeline_add(
            onboarding=onboarding,
            kind=TimelineEntry.Kind.CREATED,
            message="Returned from 360Dialog without our link: unverified until the Partner API "
            "confirms it.",
        )
        _record(onboarding, redirect, data)
        return onboarding


def _lock_identical_returns(partner: Partner, data: dict[str, object]) -> None:
    """Until the transaction ends: identical returns arriving together (a reload, a burst) are
    taken one after the other, so they find one onboarding and queue one check."""
    key = json.dumps([partner.pk, data], sort_keys=True).encode()
    lock_id = int.from_bytes(hashlib.sha256(key).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])


def _return_data(redirect: Redirect) -> dict[str, object]:
    return {
        "client": redirect.client_id,
        "channels": list(redirect.channel_ids),
        "revoked": list(redirect.revoked_ids),
    }


def _record(onboarding: Onboarding, redirect: Redirect, data: dict[str, object]) -> None:
    """Only what the redirect said, on the onboarding itself. Its parameters are not
    authenticated: clients, channels and permission change only after the Partner API
    confirms them (channels.reconcile.onboarding_check)."""
    onboarding.returned_at = timezone.now()
    onboarding.return_data = data
    fields = ["returned_at", "return_data", "updated_at"]
    if onboarding.status in (Onboarding.Status.STARTED, Onboarding.Status.OPENED):
        onboarding.status = Onboarding.Status.RETURNED
        fields.append("status")
    onboarding.save(update_fields=fields)
    withdrawn = f", withdrawn for {len(redirect.revoked_ids)}" if redirect.revoked_ids else ""
    timeline_add(
        onboarding=onboarding,
        kind=TimelineEntry.Kind.RETURNED,
        message=f"Returned from 360Dialog: client {redirect.client_id}, "
        f"{len(redirect.channel_ids)} number(s){withdrawn}; checking with the Partner API.",
        data=data,
    )
    domain_event_record(
        partner=onboarding.partner, type="onboarding.returned", data=onboarding_data(onboarding)
    )
    enqueue_on_commit("channels.check_onboarding", onboarding.partner_id, onboarding.pk)
