from __future__ import annotations

import hashlib

import factory

from channels.models import ApiKey, Channel
from clients.tests.factories import ClientFactory


class ChannelFactory(factory.django.DjangoModelFactory[Channel]):
    class Meta:
        model = Channel

    client = factory.SubFactory(ClientFactory)
    partner = factory.SelfAttribute("client.partner")
    hub_channel_id = factory.Sequence(lambda n: f"ch{n:06d}")
    phone_number = factory.Sequence(lambda n: f"49151{n:07d}")


class ApiKeyFactory(factory.django.DjangoModelFactory[ApiKey]):
    class Meta:
        model = ApiKey

    channel = factory.SubFactory(ChannelFactory)
    partner = factory.SelfAttribute("channel.partner")
    key = factory.Sequence(lambda n: f"channel-api-key-{n:08d}")
    last4 = factory.LazyAttribute(lambda k: k.key[-4:])
    fingerprint = factory.LazyAttribute(lambda k: hashlib.sha256(k.key.encode()).hexdigest()[:16])
