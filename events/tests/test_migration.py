"""Moving the outbox from `outbound` to `events` keeps every row and every delivery's link."""

from __future__ import annotations

import uuid

import pytest
from django.apps.registry import Apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from portal.tests.factories import PartnerFactory

BEFORE: list[tuple[str, str | None]] = [
    ("events", None),
    ("outbound", "0001_outbox_endpoints_deliveries"),
]
AFTER: list[tuple[str, str | None]] = [
    ("events", "0001_domain_event_from_outbound"),
    ("outbound", "0002_delivery_event_is_a_domain_event"),
]


def migrate(targets: list[tuple[str, str | None]]) -> Apps:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state([(app, name) for app, name in targets if name]).apps


@pytest.mark.django_db(transaction=True)
def test_the_outbox_rows_and_their_deliveries_survive_the_move():
    partner_id = PartnerFactory.create().pk
    old = migrate(BEFORE)
    partner = old.get_model("portal", "Partner").objects.get(pk=partner_id)
    event = old.get_model("outbound", "OutboundEvent").objects.create(
        partner=partner, type="onboarding.started", data={"n": 1}, public_id=uuid.uuid4()
    )
    endpoint = old.get_model("outbound", "Endpoint").objects.create(
        partner=partner, url="https://platform.example/hooks", secret="whsec_x"
    )
    old.get_model("outbound", "Delivery").objects.create(
        partner=partner, event=event, endpoint=endpoint, next_attempt_at=event.created_at
    )

    new = migrate(AFTER)
    moved = new.get_model("events", "DomainEvent").objects.get()
    delivery = new.get_model("outbound", "Delivery").objects.get()

    assert (moved.pk, moved.public_id, moved.type, moved.data) == (
        event.pk,
        event.public_id,
        "onboarding.started",
        {"n": 1},
    )
    assert moved.relayed_at == moved.created_at  # already fanned out when it was recorded
    assert delivery.event_id == moved.pk
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
