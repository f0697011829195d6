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


@pytest.mark.django_db
def test_a_360dialog_client_id_is_unique_within_a_partner_but_not_across_partners():
    alpha, bravo = PartnerFactory.create(), PartnerFactory.create()
    ClientFactory.create(partner=alpha, hub_client_id="oaY9LLfUCL")

    ClientFactory.create(partner=bravo, hub_client_id="oaY9LLfUCL")
    with pytest.raises(IntegrityError), transaction.atomic():
        ClientFactory.create(partner=alpha, hub_client_id="oaY9LLfUCL")


@pytest.mark.django_db
def test_a_360dialog_channel_id_is_unique_within_a_partner_but_not_across_partners():
    alpha, bravo = PartnerFactory.create(), PartnerFactory.create()
    ChannelFactory.create(client__partner=alpha, hub_channel_id="y9MiLoCH")

    ChannelFactory.create(client__partner=bravo, hub_channel_id="y9MiLoCH")
    with pytest.raises(IntegrityError), transaction.atomic():
        ChannelFactory.create(client__partner=alpha, hub_channel_id="y9MiLoCH")


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
@pytest.mark.parametrize("switch", ["io_signature_enabled", "require_webhook_signature"])
def test_signing_switches_need_a_platform_secret(switch):
    with pytest.raises(IntegrityError), transaction.atomic():
        PartnerFactory.create(platform_secret="", **{switch: True})

    PartnerFactory.create(platform_secret="s3cret", **{switch: True})


@pytest.mark.django_db
def test_a_webhook_delivery_is_stored_once_per_partner():
    alpha, bravo = PartnerFactory.create(), PartnerFactory.create()
    WebhookEventFactory.create(partner=alpha, dedupe_key="evt_01HZX3K2Q1")

    WebhookEventFactory.create(partner=bravo, dedupe_key="evt_01HZX3K2Q1")
    with pytest.raises(IntegrityError), transaction.atomic():
        WebhookEventFactory.create(partner=alpha, dedupe_key="evt_01HZX3K2Q1")
