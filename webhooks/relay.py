"""The relay's part for webhooks: stored deliveries are published to the workers from here, not
by the request that stored them (see `manage.py relay`).

A delivery to apply is stored with a row in UnpublishedEvent, and the relay finds it at its next
look (every RELAY_IDLE_SECONDS at most; a delivery sends no notification: portal/relay.py says
why). It deletes a batch of such rows (skipping rows another relay holds), reads their events
and publishes them, in one transaction: a broker that cannot take them rolls the deletion back
and the rows wait for the next pass. The event's own row is not written. A relay that dies
after publishing and before its COMMIT has them published again by the next pass; applying is
idempotent (the event's own claim, webhooks.services), so that costs a no-op run, never a second
application.

Each task carries up to RELAY_TASK_EVENTS events of one partner, so a backlog costs a task per
batch instead of per event. Within a task a channel's events are adjacent and in the order of the
lifecycle table (created before submitted before ready...), not of arrival: a burst that
delivers `running` before `ready` is applied as the channel moved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from django.conf import settings
from django.db import connection, transaction

from channels.lifecycle import STATUSES
from portal.queueing import publish
from webhooks.models import UnpublishedEvent, WebhookEvent

_table = WebhookEvent._meta.db_table
_unpublished = UnpublishedEvent._meta.db_table
# The rows stay locked (deleted) until the publish is done; SKIP LOCKED lets a second relay take
# others. An event applied meanwhile (sent by the sweep) is not published again. The events are
# read by primary key alone, whatever the statistics say (see webhooks.services._CLAIM).
_CLAIM = f"""
WITH taken AS (
    DELETE FROM {_unpublished}
    WHERE event_id IN (
        SELECT event_id FROM {_unpublished} ORDER BY event_id LIMIT %s FOR UPDATE SKIP LOCKED
    )
    RETURNING event_id
)
SELECT id, partner_id, event_type, coalesce(payload #>> '{{data,id}}', '')
FROM {_table}
WHERE id = ANY(ARRAY(SELECT event_id FROM taken)) AND (status = %s) IS TRUE
"""  # noqa: S608 - the table name is ours; every value is a parameter

# A lifecycle event's place in the table; every other kind of event comes after them.
_RANK = {f"channel_{status}": index for index, status in enumerate(STATUSES)}
_LAST = len(STATUSES)


def webhook_events_relay(*, limit: int | None = None) -> int:
    """Publish up to `limit` (RELAY_BATCH) stored deliveries not yet published; how many.
    Raises if the broker cannot take them, with nothing taken."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(_CLAIM, [limit or settings.RELAY_BATCH, WebhookEvent.Status.RECEIVED])
            rows: list[tuple[int, int, str, str]] = cursor.fetchall()
        if rows:
            publish("webhooks.process_events", list(process_batches(rows)))
    return len(rows)


def process_batches(
    rows: list[tuple[int, int, str, str]],
) -> Iterator[tuple[int, list[int]]]:
    """(partner id, event ids) per task: each partner's events grouped by what they are about
    (the channel or client id in `data.id`), in lifecycle order within it, then stored order;
    at most RELAY_TASK_EVENTS per task."""
    by_partner: dict[int, list[tuple[int, int, str, str]]] = defaultdict(list)
    for row in rows:
        by_partner[row[1]].append(row)
    size = settings.RELAY_TASK_EVENTS
    for partner_id, events in by_partner.items():
        events.sort(key=lambda row: (row[3], _RANK.get(row[2], _LAST), row[0]))
        ids = [row[0] for row in events]
        for start in range(0, len(ids), size):
            yield partner_id, ids[start : start + size]
