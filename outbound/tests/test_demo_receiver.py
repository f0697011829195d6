"""The demo's receiver: the hub simulator's /_sim/outbound takes the portal's signed events and
shows them; `demo_endpoint` points the demo partner's endpoint at it, once."""

from __future__ import annotations

from io import StringIO

import httpx
import pytest
from django.core.management import CommandError, call_command

from events.services import domain_event_record
from outbound.models import Delivery, Endpoint
from outbound.services import delivery_attempt, domain_event_relay, endpoint_create
from portal.tenancy import partner_scope
from portal.tests.factories import PartnerFactory


@pytest.mark.django_db
def test_the_simulator_shows_the_events_the_portal_delivers_to_it(hubsim_process):
    partner = PartnerFactory.create()
    with partner_scope(partner):
        endpoint_create(partner=partner, url=f"{hubsim_process}/_sim/outbound")
        event = domain_event_record(
            partner=partner, type="channel.api_key_ready", data={"channel": {"id": "demo1"}}
        )
        domain_event_relay(event_id=event.pk)

        assert delivery_attempt(delivery_id=Delivery.objects.get().pk) is None
        delivery = Delivery.objects.get()

    shown = httpx.get(f"{hubsim_process}/_sim/outbound", params={"format": "json"}).json()
    page = httpx.get(f"{hubsim_process}/_sim/outbound")
    assert (delivery.status, delivery.last_status_code) == ("delivered", 204)
    mine = [item for item in shown if item["webhook_id"] == str(event.public_id)]
    assert [(m["signed"], m["event"]["type"], m["event"]["data"]) for m in mine] == [
        (True, "channel.api_key_ready", {"channel": {"id": "demo1"}})
    ]
    assert page.status_code == 200
    assert "channel.api_key_ready" in page.text


@pytest.mark.django_db
def test_demo_endpoint_adds_the_demo_partners_endpoint_once_and_follows_the_port(settings):
    settings.DEBUG = True
    partner = PartnerFactory.create(slug="demo")
    out = StringIO()

    call_command("demo_endpoint", "--url", "http://127.0.0.1:8360/_sim/outbound", stdout=out)
    call_command("demo_endpoint", "--url", "http://127.0.0.1:9360/_sim/outbound", stdout=out)

    with partner_scope(partner):
        assert list(Endpoint.objects.values_list("url", "enabled", "event_types")) == [
            ("http://127.0.0.1:9360/_sim/outbound", True, [])
        ]
    assert out.getvalue().splitlines() == [
        "  Outbound events: http://127.0.0.1:8360/_sim/outbound   (the demo partner's "
        "endpoint, added; watch them arrive)",
        "  Outbound events: http://127.0.0.1:9360/_sim/outbound   (the demo partner's "
        "endpoint, kept; watch them arrive)",
    ]


@pytest.mark.django_db
def test_demo_endpoint_refuses_to_run_in_production(settings):
    settings.DEBUG = False
    PartnerFactory.create(slug="demo")

    with pytest.raises(CommandError):
        call_command("demo_endpoint", "--url", "http://127.0.0.1:8360/_sim/outbound")
