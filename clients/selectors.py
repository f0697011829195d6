"""Reads for the client-facing pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from django.utils import timezone
from django.utils.translation import gettext as _

from clients.models import Invite, Onboarding
from portal.tokens import token_hash, token_shaped

STEPS = ("created", "submitted", "ready", "running", "key", "live")


def step_labels() -> list[tuple[str, str]]:
    return list(
        zip(
            STEPS,
            [_("Registered"), _("Checked"), _("Approved"), _("Running"), _("Key ready"), _("Live")],
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


@dataclass(frozen=True)
class ChannelProgress:
    number: str
    step: str  # the furthest of STEPS reached
    label: str
    explanation: str
    failed: bool

    def as_dict(self) -> dict[str, object]:
        reached = STEPS.index(self.step)
        return {
            "number": self.number,
            "step": self.step,
            "steps_done": list(STEPS[: reached + 1]),
            "steps": [
                {"name": name, "label": str(label), "done": index <= reached}
                for index, (name, label) in enumerate(step_labels())
            ],
            "label": self.label,
            "explanation": self.explanation,
            "failed": self.failed,
        }


def onboarding_progress(onboarding: Onboarding) -> dict[str, object]:
    """What the client's status page shows, in the active language."""
    # Through the onboarding's reverse relations: clients/ does not import channels/.
    channels = list(onboarding.channels.order_by("created_at"))
    keyed = set(
        onboarding.channels.filter(
            api_keys__isnull=False, api_keys__revoked_at__isnull=True
        ).values_list("pk", flat=True)
    )
    progress = [_channel_progress(channel, channel.pk in keyed) for channel in channels]
    done = bool(progress) and all(item.step in ("key", "live") for item in progress)
    return {
        "status": onboarding.status,
        "returned": onboarding.returned_at is not None,
        "done": done,
        "headline": _headline(onboarding, progress, done),
        "channels": [item.as_dict() for item in progress],
    }


class NumberState(Protocol):
    """What the status page reads of a channel (channels.models.Channel)."""

    phone_number: str
    hub_channel_id: str
    status: str
    api_key_error: str
    cancelled_at: datetime | None


def _channel_progress(channel: NumberState, has_key: bool) -> ChannelProgress:
    number = f"+{channel.phone_number}" if channel.phone_number else channel.hub_channel_id
    if channel.api_key_error or channel.cancelled_at:
        return ChannelProgress(
            number,
            channel.status,
            _("Needs attention"),
            _(
                "Something went wrong while connecting this number. Your provider has been "
                "told and will contact you; you can also write to their support."
            ),
            failed=True,
        )
    if channel.status == "live" and has_key:
        return ChannelProgress(
            number, "live", _("Live"), _("Your number is live and connected."), False
        )
    if has_key:
        return ChannelProgress(
            number,
            "key",
            _("Connected"),
            _("Your provider has everything it needs to send and receive messages."),
            False,
        )
    texts = {
        "created": (
            _("Registered"),
            _("360Dialog has registered your number. Meta checks it next."),
        ),
        "submitted": (
            _("Being checked"),
            _("Meta is checking your business and number. This usually takes a few minutes."),
        ),
        "ready": (
            _("Approved"),
            _("Your number is approved and is being switched on."),
        ),
        "running": (
            _("Running"),
            _("Your number runs; your provider is connecting it now."),
        ),
        "live": (
            _("Running"),
            _("Your number runs; your provider is connecting it now."),
        ),
    }
    label, explanation = texts.get(channel.status, texts["created"])
    step = channel.status if channel.status in STEPS else "created"
    if step == "live":
        step = "running"  # no key yet: the last two steps are still ahead
    return ChannelProgress(number, step, str(label), str(explanation), False)


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
