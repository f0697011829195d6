"""Every event type 360Dialog is known to send is either handled or deliberately ignored, and
the dispatcher does what the declaration says."""

from __future__ import annotations

import pytest

from dialog360.events import KNOWN_EVENTS, parse_event
from portal.tenancy import partner_scope
from portal.tests.factories import PartnerFactory
from webhooks.handlers import HANDLED_EVENTS, IGNORED_EVENTS, event_dispatch
from webhooks.models import WebhookEvent
from webhooks.tests.helpers import channel_event, fixture


def test_every_known_event_is_handled_or_ignored_never_both():
    assert HANDLED_EVENTS | IGNORED_EVENTS == KNOWN_EVENTS
    assert not HANDLED_EVENTS & IGNORED_EVENTS


def payload_for(name: str) -> dict[str, object]:
    if name == "client_created":
        return fixture("client_created")
    payload = channel_event("channel_created", channel_id="cover1")
    payload["event"] = name
    if name == "waba_template_status_changed":
        payload["data"] = {"template": "welcome", "status": "approved"}
    return payload


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(KNOWN_EVENTS))
def test_the_dispatcher_applies_handled_events_and_ignores_the_rest(name):
    partner = PartnerFactory.create()
    with partner_scope(partner):
        if name not in ("client_created", "channel_created"):
            # Notices and later steps are about a channel the portal knows.
            event_dispatch(
                partner=partner,
                event=parse_event(channel_event("channel_created", channel_id="cover1")),
            )
        outcome = event_dispatch(partner=partner, event=parse_event(payload_for(name)))

    expected = (
        WebhookEvent.Status.IGNORED if name in IGNORED_EVENTS else WebhookEvent.Status.PROCESSED
    )
    assert outcome == expected
