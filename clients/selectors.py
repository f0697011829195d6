"""Reads for the client-facing pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from clients.models import Invite, Onboarding
from clients.phones import phone_display
from portal.models import Partner
from portal.tokens import token_hash, token_shaped

STEPS = ("created", "submitted", "ready", "running", "key", "live")
# How many of STEPS have happened for a channel in each 360Dialog status, before its key.
STEPS_DONE_AT = {"created": 1, "submitted": 1, "ready": 3, "running": 4, "live": 4}
# A wait is worth mentioning (how long, what is normal) after this long.
WAIT_WORTH_SAYING = timedelta(minutes=2)


def step_labels() -> list[tuple[str, str]]:
    return list(
        zip(
            STEPS,
            [
                _("Registered"),
                _("Checked"),
                _("Approved"),
                _("Switched on"),
                _("Connected"),
                _("Live"),
            ],
            strict=True,
        )
    )


def invite_get_valid(token: str | None) -> Invite | None:
    """The invite with this token (compared by its hash), unless it expired or was revoked."""
    if token is None or not token_shaped(token):
        return None
    return Invite.objects.filter(
        token_hash=token_hash(token), revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).first()


def onboarding_get(public_id: UUID) -> Onboarding | None:
    return Onboarding.objects.filter(public_id=public_id).first()


def onboarding_resumable(*, known: list[str], email: str) -> Onboarding | None:
    """Of the onboardings this browser started (`known` public ids), the latest one with this
    e-mail address that is still open: a second signup (Back, then submit) goes on with it."""
    return (
        Onboarding.objects.filter(
            public_id__in=known,
            email__iexact=email,
            expires_at__gt=timezone.now(),
            verified=True,
            dead_end="",
        )
        .exclude(status__in=[Onboarding.Status.FAILED, Onboarding.Status.EXPIRED])
        .order_by("-created_at")
        .first()
    )


@dataclass(frozen=True)
class ChannelProgress:
    number: str
    step: str  # the step it is at: the first of STEPS not yet done (the last when all are)
    steps_done: int  # how many of STEPS have happened
    label: str
    explanation: str
    failed: bool
    wait: str = ""  # how long it has waited, what is normal, and who follows up when late
    late: bool = False

    def as_dict(self) -> dict[str, object]:
        steps = []
        for index, (name, label) in enumerate(step_labels()):
            if index < self.steps_done:
                state = "done"
            elif index == self.steps_done:
                state = "failed" if self.failed else "current"
            else:
                state = "todo"
            steps.append({"name": name, "label": str(label), "state": state})
        return {
            "number": self.number,
            "step": self.step,
            "steps_done": list(STEPS[: self.steps_done]),
            "steps": steps,
            "label": self.label,
            "explanation": self.explanation,
            "failed": self.failed,
            "wait": self.wait,
            "late": self.late,
        }


class NumberState(Protocol):
    """What the status page reads of a channel (channels.models.Channel)."""

    phone_number: str
    hub_channel_id: str
    status: str
    permission: str
    api_key_error: str
    cancelled_at: datetime | None
    created_at: datetime
    status_changed_at: datetime | None


@dataclass(frozen=True)
class Waiting:
    """Thresholds after which a wait is late: the console's stuck thresholds
    (settings.STUCK_THRESHOLDS_MINUTES), so that the page says "taking longer" when account
    managers are told."""

    now: datetime
    thresholds: dict[str, timedelta]
    flagged: bool  # the console's stuck check has flagged the onboarding

    @classmethod
    def for_onboarding(cls, onboarding: Onboarding) -> Waiting:
        minutes: dict[str, int] = settings.STUCK_THRESHOLDS_MINUTES
        try:
            # The console's verdict, read through the reverse relation (clients/ does not
            # import the console): it applies the partner's own thresholds too.
            flagged = onboarding.stuck_flag is not None
        except ObjectDoesNotExist:
            flagged = False
        return cls(
            now=timezone.now(),
            thresholds={name: timedelta(minutes=value) for name, value in minutes.items()},
            flagged=flagged,
        )

    def say(self, since: datetime | None, threshold: str, normal: str, partner: Partner) -> str:
        """'Waiting for 12 minutes. <what is normal>', or that it is late and who follows up;
        nothing for a short wait."""
        if since is None or self.now - since < WAIT_WORTH_SAYING:
            return ""
        waited = _("Waiting for %(duration)s.") % {"duration": timesince(since, self.now, depth=1)}
        if self.flagged or self.now - since >= self.thresholds[threshold]:
            return f"{waited} {late_text(partner)}"
        return f"{waited} {normal}"


def late_text(partner: Partner) -> str:
    text = _("This is taking longer than usual. %(partner)s has been told and will follow up.") % {
        "partner": partner.name
    }
    return f"{text} {contact_text(partner)}"


def contact_text(partner: Partner) -> str:
    """Whom to ask: the partner's support address when it has one, else the partner."""
    if partner.support_email:
        return _("Questions? Write to %(email)s.") % {"email": partner.support_email}
    return _("Questions? Contact %(partner)s.") % {"partner": partner.name}


def onboarding_progress(onboarding: Onboarding) -> dict[str, object]:
    """What the client's status page shows, in the active language."""
    partner = onboarding.partner
    waiting = Waiting.for_onboarding(onboarding)
    # Through the onboarding's reverse relations: clients/ does not import channels/.
    channels = list(onboarding.channels.order_by("created_at"))
    keyed = set(
        onboarding.channels.filter(
            api_keys__isnull=False, api_keys__revoked_at__isnull=True
        ).values_list("pk", flat=True)
    )
    progress = [
        _channel_progress(channel, channel.pk in keyed, partner, waiting) for channel in channels
    ]
    # Done once nothing is left to happen by itself: a number switched on waits for its key.
    done = bool(progress) and all(
        item.step in ("key", "live") and _settled(channel, channel.pk in keyed)
        for item, channel in zip(progress, channels, strict=True)
    )
    # Numbers arriving count as being back, even when the return itself was lost.
    returned = onboarding.returned_at is not None or bool(progress)
    dead_end = _dead_end(onboarding)
    wait = ""
    if returned and not progress and not dead_end:
        wait = waiting.say(
            onboarding.returned_at,
            "returned_no_channel",
            _("360Dialog usually confirms a number within a few minutes."),
            partner,
        )
    return {
        "status": onboarding.status,
        "returned": returned,
        "done": done,
        "headline": dead_end[0] if dead_end else _headline(onboarding, progress, done),
        "dead_end": dead_end[1] if dead_end else "",
        "wait": wait,
        "channels": [item.as_dict() for item in progress],
    }


def _settled(channel: NumberState, has_key: bool) -> bool:
    """Its key is there, or it will not come by itself (failed, or permission withdrawn)."""
    return (
        has_key
        or bool(channel.api_key_error or channel.cancelled_at)
        or channel.permission == "revoked"
    )


def _dead_end(onboarding: Onboarding) -> tuple[str, str] | None:
    """(headline, what happened and what to do) when the onboarding cannot go on by itself."""
    if onboarding.dead_end != Onboarding.DeadEnd.NUMBER_ELSEWHERE:
        return None
    partner = onboarding.partner
    explanation = _(
        "Your 360Dialog account and its numbers are already connected to %(partner)s through "
        "an earlier signup, so nothing was changed here. %(partner)s has been told and will "
        "get in touch. To connect another number, sign up again with that number."
    ) % {"partner": partner.name}
    return _("This number is already connected."), f"{explanation} {contact_text(partner)}"


def _channel_progress(
    channel: NumberState, has_key: bool, partner: Partner, waiting: Waiting
) -> ChannelProgress:
    number = phone_display(channel.phone_number) or channel.hub_channel_id
    before_key = STEPS_DONE_AT.get(channel.status, 1)
    if channel.api_key_error or channel.cancelled_at:
        # Ticked only as far as it really got: the step that failed is drawn failed.
        return ChannelProgress(
            number,
            STEPS[before_key],
            before_key,
            _("Needs attention"),
            _(
                "Something went wrong while connecting this number. %(partner)s has been told "
                "and will contact you."
            )
            % {"partner": partner.name}
            + " "
            + contact_text(partner),
            failed=True,
        )
    if channel.status == "live" and has_key:
        return ChannelProgress(
            number, "live", len(STEPS), _("Live"), _("Your number is live and connected."), False
        )
    if has_key:
        return ChannelProgress(
            number,
            "live",
            len(STEPS) - 1,
            _("Connected"),
            _("%(partner)s can now send and receive WhatsApp messages with your number.")
            % {"partner": partner.name},
            False,
        )
    if channel.permission == "revoked":
        return ChannelProgress(
            number,
            "key",
            before_key,
            _("Permission withdrawn"),
            _(
                "You withdrew %(partner)s's permission to use this number. To use it with "
                "%(partner)s again, choose “Add or remove a number” and allow it."
            )
            % {"partner": partner.name},
            False,
        )
    switching_on = _("Switching a number on usually takes a few minutes.")
    texts = {
        "created": (
            _("Registered"),
            _("360Dialog has registered your number. Meta checks it next."),
            channel.created_at,
            "channel_not_running",
            _("Meta's check usually takes a few minutes, sometimes a few hours."),
        ),
        "submitted": (
            _("Being checked"),
            _("Meta is checking your business and number. This usually takes a few minutes."),
            channel.created_at,
            "channel_not_running",
            _("Meta's check usually takes a few minutes, sometimes a few hours."),
        ),
        "ready": (
            _("Approved"),
            _("Your number is approved and is being switched on."),
            channel.created_at,
            "channel_not_running",
            switching_on,
        ),
        "running": (
            _("Switched on"),
            _("Your number is switched on. %(partner)s is setting it up for your messages.")
            % {"partner": partner.name},
            channel.status_changed_at or channel.created_at,
            "running_no_key",
            _("This usually takes less than a minute."),
        ),
    }
    status = "running" if channel.status == "live" else channel.status
    label, explanation, since, threshold, normal = texts.get(status, texts["created"])
    wait = waiting.say(since, threshold, str(normal), partner)
    late = bool(wait) and (waiting.flagged or waiting.now - since >= waiting.thresholds[threshold])
    return ChannelProgress(
        number, STEPS[before_key], before_key, str(label), str(explanation), False, wait, late
    )


def _headline(onboarding: Onboarding, progress: list[ChannelProgress], done: bool) -> str:
    if any(item.failed for item in progress) or onboarding.status == Onboarding.Status.FAILED:
        return _("Something needs attention.")
    if done:
        return _("All done: your WhatsApp number is connected.")
    if progress:
        return _("Your number is on its way. This page updates by itself.")
    if onboarding.returned_at:
        return _("Thanks! We are waiting for 360Dialog to confirm your number.")
    return _("Connect your WhatsApp number to get started.")
