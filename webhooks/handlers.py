"""One handler per kind of event; each returns whether the event was applied or ignored."""

from __future__ import annotations

from channels.linking import client_apply
from channels.services import channel_apply_event, channel_apply_notice
from dialog360.events import (
    CHANNEL_EVENTS,
    CLIENT_EVENTS,
    NOTICE_EVENTS,
    ChannelEvent,
    ChannelNoticeEvent,
    ClientEvent,
    Event,
)
from portal.models import Partner
from webhooks.models import WebhookEvent

Status = WebhookEvent.Status

# Every event type 360Dialog is known to send is in exactly one of these (a test holds it):
# what the portal acts on, and what it keeps without acting. An unknown type is ignored too.
HANDLED_EVENTS = CLIENT_EVENTS | CHANNEL_EVENTS | NOTICE_EVENTS
IGNORED_EVENTS = frozenset(
    {
        "waba_template_status_changed",  # message templates are not part of onboarding
    }
)


def event_dispatch(*, partner: Partner, event: Event) -> str:
    """Apply `event` inside the caller's transaction and scope; the WebhookEvent status to set."""
    match event:
        case ClientEvent():
            client_apply(partner=partner, info=event.client)
            return Status.PROCESSED
        case ChannelEvent():
            channel_apply_event(partner=partner, event=event)
            return Status.PROCESSED
        case ChannelNoticeEvent() if event.channel_id:
            channel_apply_notice(partner=partner, event=event)
            return Status.PROCESSED
        case _:
            # Template status changes, notices naming no channel, and events we do not know:
            # kept, not acted on.
            return Status.IGNORED
