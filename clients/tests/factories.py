from __future__ import annotations

import hashlib
from datetime import timedelta

import factory
from django.utils import timezone

from clients.models import Client, Notification, Onboarding, TimelineEntry
from portal.tests.factories import PartnerFactory


class ClientFactory(factory.django.DjangoModelFactory[Client]):
    class Meta:
        model = Client

    partner = factory.SubFactory(PartnerFactory)
    hub_client_id = factory.Sequence(lambda n: f"cl{n:06d}")
    name = factory.Sequence(lambda n: f"Client {n}")
    email = factory.Sequence(lambda n: f"owner{n}@client.example")


class OnboardingFactory(factory.django.DjangoModelFactory[Onboarding]):
    class Meta:
        model = Onboarding

    partner = factory.SubFactory(PartnerFactory)
    email = factory.Sequence(lambda n: f"signup{n}@client.example")
    contact_name = "Ada Baker"
    return_token_hash = factory.Sequence(
        lambda n: hashlib.sha256(f"token-{n}".encode()).hexdigest()
    )
    expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))


class TimelineEntryFactory(factory.django.DjangoModelFactory[TimelineEntry]):
    class Meta:
        model = TimelineEntry

    onboarding = factory.SubFactory(OnboardingFactory)
    partner = factory.SelfAttribute("onboarding.partner")
    kind = TimelineEntry.Kind.NOTE
    message = "Something happened"


class NotificationFactory(factory.django.DjangoModelFactory[Notification]):
    class Meta:
        model = Notification

    onboarding = factory.SubFactory(OnboardingFactory)
    partner = factory.SelfAttribute("onboarding.partner")
    key = factory.Sequence(lambda n: f"key_ready:{n}")
    kind = Notification.Kind.KEY_READY
    subject = "Your WhatsApp number is ready"
    body = "It is ready."
    recipients = factory.LazyAttribute(lambda n: [n.onboarding.email])
