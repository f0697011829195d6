"""The worker's hottest lookups keep their index when the table statistics lag behind.

A burst changes a table faster than ANALYZE follows: a new deployment's first mass migration
is planned with the statistics of empty tables, to which every partner and every status looks
rare. Each test takes the statistics of the empty table, adds a burst, runs the real code and
reads the plans PostgreSQL chose for it (auto_explain, sent to this connection)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.db.models import Model

from channels.linking import onboarding_for_client
from clients.models import Onboarding
from clients.tests.factories import ClientFactory, OnboardingFactory
from portal.tenancy import partner_scope
from portal.tests.factories import PartnerFactory
from webhooks import relay as webhook_relay
from webhooks.models import UnpublishedEvent, WebhookEvent
from webhooks.relay import webhook_events_relay
from webhooks.services import _claim
from webhooks.tests.factories import WebhookEventFactory

pytestmark = pytest.mark.django_db


@contextmanager
def chosen_plans() -> Iterator[list[dict[str, Any]]]:
    """The plan of every statement run inside, as PostgreSQL's auto_explain gives it."""
    plans: list[dict[str, Any]] = []

    def notice(diagnostic: Any) -> None:
        head, _, plan = (diagnostic.message_primary or "").partition("plan:\n")
        if head.startswith("duration:"):
            plans.append(json.loads(plan))

    with connection.cursor() as cursor:
        cursor.execute("LOAD 'auto_explain'")
        cursor.execute("SET auto_explain.log_format = 'json'")
        cursor.execute("SET auto_explain.log_level = 'notice'")
        cursor.execute("SET auto_explain.log_min_duration = 0")
    connection.connection.add_notice_handler(notice)
    try:
        yield plans
    finally:
        # A plan may come with the next statement's answer (a portal closed late): this one.
        with connection.cursor() as cursor:
            cursor.execute("SET auto_explain.log_min_duration = -1")
        connection.connection.remove_notice_handler(notice)


def indexes_used(plans: list[dict[str, Any]], statement: str) -> set[str]:
    """The indexes read by the plans of the statements starting with `statement`."""
    found: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if "Index Name" in node:
            found.add(node["Index Name"])
        for child in node.get("Plans", []):
            walk(child)

    matching = [plan for plan in plans if plan["Query Text"].lstrip().startswith(statement)]
    assert matching, f"no statement starting with {statement!r} was run"
    for plan in matching:
        walk(plan["Plan"])
    return found


def copies(model: type[Model], template: Model, count: int, **columns: str) -> None:
    """`count` copies of `template`'s row, with `columns` set by SQL expressions of `n`."""
    names = [
        field.column
        for field in model._meta.concrete_fields
        if not field.primary_key and field.column not in columns
    ]
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join([*names, *columns])}) "  # noqa: S608 - ours
            f"SELECT {', '.join([*names, *columns.values()])} "
            f"FROM {table}, generate_series(1, %s) AS n WHERE id = %s",
            [count, template.pk],
        )


# A copied onboarding's own public id, and no return token (stand-ins have none).
UNIQUE_ONBOARDING = {"public_id": "gen_random_uuid()", "return_token_hash": "NULL"}


def statistics_taken_now(model: type[Model]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {model._meta.db_table}")


def test_a_claim_reads_its_events_by_primary_key_whatever_the_statistics_say():
    statistics_taken_now(WebhookEvent)  # of the empty table
    partner, other = PartnerFactory.create(), PartnerFactory.create()
    for owner, status in ((other, "PROCESSED"), (partner, "PROCESSED"), (partner, "RECEIVED")):
        event = WebhookEventFactory.create(partner=owner, status=WebhookEvent.Status[status])
        key = f"'{owner.pk}-{status}-' || n"
        copies(WebhookEvent, event, 2000, dedupe_key=key, hub_event_id=key)
    with partner_scope(partner):
        received = WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED)
        wanted = list(received.order_by("-pk").values_list("pk", flat=True)[:20])

    with chosen_plans() as plans:
        claimed = _claim(partner_id=partner.pk, event_pks=wanted)

    assert sorted(claimed) == sorted(wanted)
    assert indexes_used(plans, "UPDATE webhooks_webhookevent") == {"webhooks_webhookevent_pkey"}


def test_the_relay_reads_its_events_by_primary_key_whatever_the_statistics_say(monkeypatch):
    statistics_taken_now(WebhookEvent)  # of the empty tables
    statistics_taken_now(UnpublishedEvent)
    partner = PartnerFactory.create()
    event = WebhookEventFactory.create(partner=partner, status=WebhookEvent.Status.RECEIVED)
    copies(WebhookEvent, event, 3000, dedupe_key="'copy-' || n", hub_event_id="'copy-' || n")
    with partner_scope(partner):
        latest = list(WebhookEvent.objects.order_by("-pk").values_list("pk", flat=True)[:20])
    UnpublishedEvent.objects.bulk_create(UnpublishedEvent(event_id=pk) for pk in latest)
    monkeypatch.setattr(webhook_relay, "publish", lambda name, calls: None)

    with chosen_plans() as plans:
        assert webhook_events_relay() == 20

    used = indexes_used(plans, "WITH taken AS")
    assert {name for name in used if "webhookevent" in name} == {"webhooks_webhookevent_pkey"}


def test_a_clients_latest_onboarding_is_found_by_its_own_index_whatever_the_statistics_say():
    statistics_taken_now(Onboarding)  # of the empty table
    partner, other = PartnerFactory.create(), PartnerFactory.create()
    for owner in (other, partner):
        copies(Onboarding, OnboardingFactory.create(partner=owner), 3000, **UNIQUE_ONBOARDING)
    client = ClientFactory.create(partner=partner)
    OnboardingFactory.create(partner=partner, client=client)
    latest = OnboardingFactory.create(partner=partner, client=client)

    with partner_scope(partner), chosen_plans() as plans:
        found = onboarding_for_client(client=client)

    assert found == latest
    assert indexes_used(plans, 'SELECT "clients_onboarding"') == {"onboarding_client_latest"}
