from __future__ import annotations

import json

import factory

from portal.tests.factories import PartnerFactory
from webhooks.models import WebhookEvent


class WebhookEventFactory(factory.django.DjangoModelFactory[WebhookEvent]):
    class Meta:
        model = WebhookEvent

    partner = factory.SubFactory(PartnerFactory)
    hub_event_id = factory.Sequence(lambda n: f"evt_{n:06d}")
    dedupe_key = factory.SelfAttribute("hub_event_id")
    event_type = "channel_created"
    payload = factory.LazyAttribute(
        lambda e: {"id": e.hub_event_id, "event": e.event_type, "data": {}}
    )
    raw_body = factory.LazyAttribute(lambda e: json.dumps(e.payload).encode())
