"""Invariants held by the database itself, not only by Python code."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from channels.models import ApiKey
from channels.tests.factories import ApiKeyFactory, ChannelFactory
from clients.tests.factories import ClientFactory
from portal.tenancy import partner_scope
from portal.tests.factories import PartnerFactory
from webhooks.tests.factories import WebhookEventFactory


def make_client(partner, value):
    return ClientFactory.create(partner=partner, hub_client_id=value)


def make_channel(partner, value):
    return ChannelFactory.create(client__partner=partner, hub_channel_id=value)


def make_webhook_event(partner, value):
    return WebhookEventFactory.create(partner=partner, dedupe_key=value)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make", "value"),
    [
        (make_client, "oaY9LLfUCL"),  # 360Dialog client id
        (make_channel, "y9MiLoCH"),  # 360Dialog channel id
        (make_webhook_event, "evt_01HZX3K2Q1"),  # a webhook delivery's dedupe key
    ],
    ids=["client id", "channel id", "webhook dedupe key"],
)
def test_an_id_is_unique_within_a_partner_but_not_across_partners(make, value):
    alpha, bravo = PartnerFactory.create(), PartnerFactory.create()
    make(alpha, value)

    make(bravo, value)
    with pytest.raises(IntegrityError), transaction.atomic():
        make(alpha, value)


@pytest.mark.django_db
def test_a_channel_has_at_most_one_current_api_key():
    current = ApiKeyFactory.create()
    channel = current.channel

    with pytest.raises(IntegrityError), transaction.atomic():
        ApiKeyFactory.create(channel=channel)

    ApiKeyFactory.create(channel=channel, revoked_at=timezone.now())
    current.revoked_at = timezone.now()
    current.save()
    ApiKeyFactory.create(channel=channel)
    with partner_scope(channel.partner):
        assert ApiKey.objects.filter(channel=channel, revoked_at__isnull=True).count() == 1


@pytest.mark.django_db
def test_io_signatures_need_a_platform_secret():
    with pytest.raises(IntegrityError), transaction.atomic():
        PartnerFactory.create(platform_secret="", io_signature_enabled=True)

    PartnerFactory.create(platform_secret="s3cret", io_signature_enabled=True)
