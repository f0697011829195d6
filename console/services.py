"""What account managers do in the console, and the stuck check.

Every action takes the acting user and their address, calls the existing service that does the
work, and writes what happened twice: on the onboarding's timeline (the story a colleague reads)
and in the audit log (who, when, what, how it ended). Callers check the user manages the
partner; a refusal is recorded with `action_refused`.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from audit.models import AuditEntry
from audit.services import audit_record
from channels.hub import PartnerNotConnectedError
from channels.models import ApiKey, Channel
from channels.provisioning import Outcome, channel_api_key_retry, channel_api_key_rotate
from clients.event_data import onboarding_data
from clients.invites import invite_link_renew, invite_url
from clients.models import Invite, Notification, Onboarding, TimelineEntry
from clients.services import onboarding_status_set, timeline_add
from console.models import StuckFlag
from console.selectors import (
    failed_webhooks_by_channel,
    key_masked,
    onboarding_stuck_reason,
    onboardings_to_check,
    stuck_thresholds_for,
)
from dialog360.errors import PartnerApiError
from events.services import domain_event_record
from portal.models import Partner, PartnerMembership
from portal.queueing import enqueue_item_on_commit, enqueue_on_commit
from portal.ratelimit import Rate

logger = logging.getLogger(__name__)

StaffUser = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class Done:
    """How an action ended, in words for the manager."""

    ok: bool
    message: str


def _name(user: StaffUser) -> str:
    return str(user.get_username()) if user.is_authenticated else "someone"


def _record(
    *,
    onboarding: Onboarding,
    user: StaffUser,
    ip: str | None,
    action: str,
    message: str,
    outcome: str = AuditEntry.Outcome.OK,
    reason: str = "",
    target: Channel | Onboarding | None = None,
    data: dict[str, object] | None = None,
) -> None:
    target = target or onboarding
    timeline_add(
        onboarding=onboarding,
        kind=TimelineEntry.Kind.NOTE,
        message=f"{_name(user)}: {message}",
        data={"action": action, "outcome": str(outcome), **(data or {})},
    )
    audit_record(
        partner=onboarding.partner,
        action=action,
        user=user,
        target_type="channel" if isinstance(target, Channel) else "onboarding",
        target_id=target.pk,
        target_label=str(target.label if isinstance(target, Channel) else target)[:200],
        outcome=outcome,
        reason=reason,
        ip=ip,
        data=data,
    )


def invite_send(*, invite: Invite, user: StaffUser, ip: str | None) -> Done:
    """Mail the client a fresh link to the invite: its link is shown only once, when the
    invite is made, so sending makes a new one and the old link stops working. If the mail
    cannot be sent, the old link stays and nothing changes but the audit log."""
    partner = invite.partner
    problem = ""
    if not invite.email:
        problem = "This invite has no e-mail address to send it to."
    elif invite.revoked_at is not None or invite.expires_at <= timezone.now():
        problem = "This invite is revoked or expired: make a new one."
    if not problem:
        try:
            with transaction.atomic():
                link = invite_url(partner=partner, token=invite_link_renew(invite=invite))
                send_mail(
                    subject=f"{partner.name}: connect your WhatsApp number",
                    message=(
                        f"Hello{' ' + invite.contact_name if invite.contact_name else ''},\n\n"
                        f"{partner.name} invites you to connect your WhatsApp number:\n\n"
                        f"{link}\n\nThe link works until "
                        f"{timezone.localtime(invite.expires_at):%Y-%m-%d}.\n"
                    ),
                    from_email=formataddr(
                        (partner.name.replace("\n", " "), parseaddr(settings.DEFAULT_FROM_EMAIL)[1])
                    ),
                    recipient_list=[invite.email],
                )
        except Exception as error:  # the mail server: the old link stays
            logger.warning("invite not sent", extra={"invite": invite.pk}, exc_info=True)
            problem = f"The mail could not be sent ({type(error).__name__}); the link is unchanged."
    audit_record(
        partner=partner,
        action="invite.send",
        user=user,
        target_type="invite",
        target_id=invite.pk,
        target_label=str(invite)[:200],
        outcome=AuditEntry.Outcome.FAILED if problem else AuditEntry.Outcome.OK,
        reason=problem,
        ip=ip,
        data={"to": invite.email},
    )
    if problem:
        return Done(False, problem)
    return Done(True, f"A fresh link was sent to {invite.email}; the earlier link no longer works.")


def action_refused(
    *, partner: Partner, user: StaffUser, ip: str | None, action: str, target: object
) -> None:
    """A viewer (or a manager of another partner) tried to act: audited, nothing else."""
    audit_record(
        partner=partner,
        action=action,
        user=user,
        target_type=type(target).__name__.lower(),
        target_id=getattr(target, "pk", ""),
        target_label=str(target)[:200],
        outcome=AuditEntry.Outcome.REFUSED,
        reason="not a manager of this partner",
        ip=ip,
    )


def onboarding_note_add(
    *, onboarding: Onboarding, user: StaffUser, ip: str | None, text: str
) -> Done:
    _record(
        onboarding=onboarding,
        user=user,
        ip=ip,
        action="onboarding.note",
        message=f"Note: {text}",
        reason=text,
    )
    return Done(True, "Note added.")


def onboarding_mark_expired(
    *, onboarding: Onboarding, user: StaffUser, ip: str | None, reason: str
) -> Done:
    with transaction.atomic():
        locked = Onboarding.objects.select_for_update().get(pk=onboarding.pk)
        if locked.status in (Onboarding.Status.LIVE, Onboarding.Status.EXPIRED):
            _record(
                onboarding=locked,
                user=user,
                ip=ip,
                action="onboarding.expire",
                message=f"Not marked expired: it is {locked.get_status_display().lower()}.",
                outcome=AuditEntry.Outcome.FAILED,
                reason=reason,
            )
            return Done(False, f"It is {locked.get_status_display().lower()}: left as it is.")
        onboarding_status_set(
            onboarding=locked,
            status=Onboarding.Status.EXPIRED,
            reason=f"marked expired by {_name(user)}",
        )
        StuckFlag.objects.filter(onboarding=locked).delete()
        _record(
            onboarding=locked,
            user=user,
            ip=ip,
            action="onboarding.expire",
            message=f"Marked expired ({reason}).",
            reason=reason,
        )
    return Done(True, "Marked expired.")


def onboarding_mark_resolved(
    *, onboarding: Onboarding, user: StaffUser, ip: str | None, reason: str
) -> Done:
    """The manager has dealt with it: off the "needs attention" list until it moves (a new
    reason flags it again)."""
    with transaction.atomic():
        resolved = StuckFlag.objects.filter(onboarding=onboarding, resolved_at__isnull=True).update(
            resolved_at=timezone.now(), resolved_by_id=user.pk
        )
        _record(
            onboarding=onboarding,
            user=user,
            ip=ip,
            action="onboarding.resolve",
            message=f"Marked resolved ({reason}).",
            reason=reason,
            data={"flag_cleared": bool(resolved)},
        )
    return Done(True, "Marked resolved." if resolved else "Marked resolved (it was not flagged).")


def onboarding_resync(*, onboarding: Onboarding, user: StaffUser, ip: str | None) -> Done:
    """Ask the Partner API now: the onboarding's client when the return named one, else a
    reconciliation of the partner (both queued, queue `hub`)."""
    with transaction.atomic():
        if onboarding.return_data.get("client"):
            enqueue_on_commit("channels.check_onboarding", onboarding.partner_id, onboarding.pk)
            what = f"client {onboarding.return_data['client']}"
        else:
            enqueue_on_commit("channels.reconcile_partner", onboarding.partner_id)
            what = "every client of the partner"
        _record(
            onboarding=onboarding,
            user=user,
            ip=ip,
            action="onboarding.resync",
            message=f"Re-sync with the Partner API queued ({what}).",
            data={"scope": what},
        )
    return Done(True, f"Re-sync queued: {what}.")


def notification_resend(*, onboarding: Onboarding, user: StaffUser, ip: str | None) -> Done:
    """Send the onboarding's latest mail again, as a new mail (the first one stays recorded)."""
    with transaction.atomic():
        last = Notification.objects.filter(onboarding=onboarding).order_by("-created_at").first()
        if last is None:
            _record(
                onboarding=onboarding,
                user=user,
                ip=ip,
                action="notification.resend",
                message="No mail to send again.",
                outcome=AuditEntry.Outcome.FAILED,
            )
            return Done(False, "This onboarding has no mail to send again.")
        again = Notification.objects.create(
            partner_id=onboarding.partner_id,
            onboarding=onboarding,
            key=f"resend:{last.pk}:{timezone.now().timestamp():.6f}",
            kind=last.kind,
            subject=last.subject,
            body=last.body,
            recipients=last.recipients,
        )
        enqueue_item_on_commit("clients.send_notifications", again.partner_id, again.pk)
        _record(
            onboarding=onboarding,
            user=user,
            ip=ip,
            action="notification.resend",
            message=f"Mail “{last.subject}” queued again.",
            data={"notification": again.pk, "copy_of": last.pk},
        )
    return Done(True, f"“{last.subject}” queued again.")


def channel_key_retry(*, channel: Channel, user: StaffUser, ip: str | None) -> Done:
    """After a final error: clear it and queue provisioning (channels.provisioning)."""
    queued = channel_api_key_retry(channel_id=channel.pk, by=_name(user))
    onboarding = channel.onboarding
    message = (
        f"Retry of the API key for {channel.label} queued."
        if queued
        else f"API key for {channel.label} not retried: no final error, or not eligible."
    )
    outcome = AuditEntry.Outcome.OK if queued else AuditEntry.Outcome.FAILED
    if onboarding is not None:
        _record(
            onboarding=onboarding,
            user=user,
            ip=ip,
            action="api_key.retry",
            message=message,
            outcome=outcome,
            target=channel,
        )
    else:
        audit_record(
            partner=channel.partner,
            action="api_key.retry",
            user=user,
            target_type="channel",
            target_id=channel.pk,
            target_label=channel.label,
            outcome=outcome,
            ip=ip,
        )
    return Done(queued, message)


def channel_key_rotate(*, channel: Channel, user: StaffUser, ip: str | None) -> Done:
    """A new key now (one Partner API call); the old one stops working at once."""
    outcome_text = ""
    try:
        outcome = channel_api_key_rotate(
            partner=channel.partner, channel_id=channel.pk, by=_name(user)
        )
    except (PartnerApiError, PartnerNotConnectedError) as error:
        outcome = Outcome.FAILED
        outcome_text = str(error)[:300]
    current = ApiKey.objects.filter(channel=channel, revoked_at__isnull=True).first()
    ok = outcome == Outcome.CREATED
    if ok and current is not None:
        message = f"API key of {channel.label} rotated: new key {key_masked(current)}."
    else:
        message = f"API key of {channel.label} not rotated ({outcome_text or outcome})."
    result = AuditEntry.Outcome.OK if ok else AuditEntry.Outcome.FAILED
    data: dict[str, object] = {"outcome": str(outcome)}
    if current is not None:
        data["fingerprint"] = current.fingerprint
    onboarding = Channel.objects.select_related("onboarding").get(pk=channel.pk).onboarding
    if onboarding is not None:
        _record(
            onboarding=onboarding,
            user=user,
            ip=ip,
            action="api_key.rotate",
            message=message,
            outcome=result,
            target=channel,
            data=data,
        )
    else:
        audit_record(
            partner=channel.partner,
            action="api_key.rotate",
            user=user,
            target_type="channel",
            target_id=channel.pk,
            target_label=channel.label,
            outcome=result,
            ip=ip,
            data=data,
        )
    return Done(ok, message)


class RevealLimitedError(Exception):
    def __init__(self, wait: int) -> None:
        super().__init__(f"try again in {wait} s")
        self.wait = wait


def _reveal_allowance_used(user: StaffUser) -> int | None:
    """Counts one reveal for the user; the seconds to wait when over KEY_REVEAL_RATE_LIMIT.
    A fixed window in the cache (Redis); an unreachable cache refuses (fails closed)."""
    rate = Rate.parse(settings.KEY_REVEAL_RATE_LIMIT)
    now = time.time()
    window = int(now // rate.seconds)
    key = f"console:reveal:{user.pk}:{window}"
    count = 1 if cache.add(key, 1, timeout=rate.seconds + 1) else cache.incr(key)
    if count <= rate.count:
        return None
    return max(1, math.ceil((window + 1) * rate.seconds - now))


def api_key_reveal(*, channel: Channel, user: StaffUser, ip: str | None, reason: str) -> str:
    """The channel's current key in full, for a manager who gave a reason. Audited whatever
    the outcome. Raises RevealLimitedError over the rate limit, ApiKey.DoesNotExist without
    a current key."""
    try:
        wait = _reveal_allowance_used(user)
    except Exception:  # the cache is down: no count, no reveal
        logger.warning("key reveal refused: cache unavailable", exc_info=True)
        wait = 60

    def audit(outcome: str, data: dict[str, object]) -> None:
        audit_record(
            partner=channel.partner,
            action="api_key.reveal",
            user=user,
            target_type="channel",
            target_id=channel.pk,
            target_label=channel.label,
            outcome=outcome,
            reason=reason,
            ip=ip,
            data=data,
        )

    if wait is not None:
        audit(AuditEntry.Outcome.REFUSED, {"rate_limited": wait})
        raise RevealLimitedError(wait)
    key = ApiKey.objects.filter(channel=channel, revoked_at__isnull=True).first()
    if key is None:
        audit(AuditEntry.Outcome.FAILED, {"no_key": True})
        raise ApiKey.DoesNotExist
    audit(AuditEntry.Outcome.OK, {"fingerprint": key.fingerprint})
    if channel.onboarding_id is not None:
        timeline_add(
            onboarding=Onboarding.objects.get(pk=channel.onboarding_id),
            kind=TimelineEntry.Kind.NOTE,
            message=f"{_name(user)}: API key of {channel.label} revealed ({reason}).",
            data={"action": "api_key.reveal", "fingerprint": key.fingerprint},
        )
    return str(key.key)


# ---------------------------------------------------------------------------------------------
# The stuck check (beat)


@dataclass
class StuckScan:
    flagged: int = 0
    cleared: int = 0
    still: int = 0


def stuck_flags_update(*, partner: Partner, now: datetime | None = None) -> StuckScan:
    """Flag the partner's stuck onboardings (reason and since), clear the flags of those that
    moved. Run inside the partner's scope. A flag whose reason changed is replaced (the new
    one is unresolved and unnotified)."""
    now = now or timezone.now()
    thresholds = stuck_thresholds_for(partner)
    flags = {flag.onboarding_id: flag for flag in StuckFlag.objects.filter(partner=partner)}
    failed_webhooks = failed_webhooks_by_channel(partner)
    result = StuckScan()
    seen: set[int] = set()
    for onboarding in onboardings_to_check().filter(partner=partner).iterator(chunk_size=500):
        stuck = onboarding_stuck_reason(
            onboarding=onboarding,
            channels=list(onboarding.channels.all()),
            payment_mode=partner.payment_mode,
            thresholds=thresholds,
            now=now,
            failed_webhooks=failed_webhooks,
        )
        if stuck is None:
            continue
        seen.add(onboarding.pk)
        flag = flags.get(onboarding.pk)
        if flag is not None and flag.reason == stuck.reason:
            result.still += 1
            continue
        with transaction.atomic():
            StuckFlag.objects.filter(onboarding=onboarding).delete()
            StuckFlag.objects.create(
                partner=partner,
                onboarding=onboarding,
                reason=stuck.reason,
                detail=stuck.detail,
                since=stuck.since,
            )
            timeline_add(
                onboarding=onboarding,
                kind=TimelineEntry.Kind.NOTE,
                message=f"Stuck: {stuck.reason.label} ({stuck.detail}).",
                data={"stuck": str(stuck.reason), "since": stuck.since.isoformat()},
            )
            domain_event_record(
                partner=partner,
                type="onboarding.stuck",
                data=onboarding_data(
                    onboarding,
                    stuck={
                        "reason": str(stuck.reason),
                        "detail": stuck.detail,
                        "since": stuck.since.isoformat().replace("+00:00", "Z"),
                    },
                ),
            )
        result.flagged += 1
    moved = [pk for pk in flags if pk not in seen]
    if moved:
        with transaction.atomic():
            StuckFlag.objects.filter(onboarding_id__in=moved).delete()
            TimelineEntry.objects.bulk_create(
                TimelineEntry(
                    partner_id=partner.pk,
                    onboarding_id=pk,
                    kind=TimelineEntry.Kind.NOTE,
                    message="No longer stuck: it moved on.",
                    data={"stuck": ""},
                )
                for pk in moved
            )
        result.cleared = len(moved)
    return result


def stuck_digest_send(*, partner: Partner) -> int:
    """One mail to the partner's managers listing the onboardings flagged since the last
    digest; the number listed. Unsent (mail server down) they wait for the next run."""
    new = list(
        StuckFlag.objects.filter(
            partner=partner, notified_at__isnull=True, resolved_at__isnull=True
        )
        .select_related("onboarding")
        .order_by("since")
    )
    if not new:
        return 0
    recipients = list(
        get_user_model()
        .objects.filter(
            partner_memberships__partner=partner,
            partner_memberships__role=PartnerMembership.Role.MANAGER,
            is_active=True,
        )
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
    )
    lines = [
        f"- {flag.onboarding} — {flag.get_reason_display()} since "
        f"{timezone.localtime(flag.since):%Y-%m-%d %H:%M} ({flag.detail})"
        for flag in new
    ]
    if recipients:
        send_mail(
            f"{partner.name}: {len(new)} onboarding(s) stuck",
            "These onboardings stopped moving:\n\n"
            + "\n".join(lines)
            + f"\n\nOpen the console: {settings.PUBLIC_BASE_URL}/admin/\n",
            settings.DEFAULT_FROM_EMAIL,
            recipients,
        )
    StuckFlag.objects.filter(pk__in=[flag.pk for flag in new]).update(notified_at=timezone.now())
    return len(new)
