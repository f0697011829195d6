"""Partner webhooks: store first, answer, then process; nothing received is ever lost.

`webhook_receive` stores one row per delivery (deduplicated per partner by the event id, or by a
hash of the body); the relay (webhooks.relay) publishes it once committed, and the sweep
enqueues again whatever the broker lost. `webhook_event_process` applies an event exactly once,
under the row's lock: a second run (a duplicate message, a redelivery after a killed worker, the
sweep) finds it done.
"""

from __future__ import annotations

import hashlib
import json
import logging
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from dialog360.events import event_id, event_type, load_payload, parse_event
from dialog360.objects import PayloadError
from portal.backoff import backoff_seconds
from portal.models import Partner
from portal.queueing import enqueue, enqueue_on_commit, queue_oldest
from webhooks.handlers import event_dispatch
from webhooks.models import UnpublishedEvent, WebhookEvent

logger = logging.getLogger(__name__)
Status = WebhookEvent.Status
# Headers stored with their values; any other (partners may add their own secret headers to
# deliveries) is stored by name only.
_KEPT_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "user-agent",
        "x-360dialog-signature",
        "x-request-id",
        "x-forwarded-for",
        "x-real-ip",
    }
)


@dataclass(frozen=True)
class Received:
    event_pk: int | None
    status: str
    duplicate: bool


def webhook_receive(*, partner: Partner, body: bytes, headers: dict[str, str]) -> Received:
    """Store a delivery whose signature (if any is required) was checked."""
    payload: dict[str, object] | None = None
    kind, hub_id, error = "", "", ""
    try:
        payload = load_payload(body)
        kind = event_type(payload)[:64]
        hub_id = event_id(payload) or ""
    except PayloadError as problem:
        error = str(problem)
    status = Status.MALFORMED if error else Status.RECEIVED
    event_pk = _insert(
        partner_id=partner.pk,
        dedupe_key=_dedupe_key(hub_id, body),
        hub_event_id=hub_id[:128],
        event_type=kind,
        raw_body=body,
        payload=payload,
        headers=redact_headers(headers),
        status=status,
        last_error=error,
    )
    if event_pk is None:
        return Received(event_pk=None, status="duplicate", duplicate=True)
    if error:
        logger.warning("malformed webhook stored", extra={"event": event_pk, "error": error})
    return Received(event_pk=event_pk, status=status, duplicate=False)


_table = WebhookEvent._meta.db_table
_unpublished = UnpublishedEvent._meta.db_table
# One statement, committed by itself (autocommit): no BEGIN and COMMIT round trips, and a
# duplicate is no error to roll back from. The conflict target is the unique constraint
# webhookevent_unique_per_partner. An event to apply is also listed as unpublished, where the
# relay (webhooks.relay) finds it and publishes it to the workers: the request never waits for
# the broker, nor for a notification's lock.
_INSERT = f"""
WITH stored AS (
    INSERT INTO {_table} (partner_id, received_at, dedupe_key, hub_event_id,
                          event_type, raw_body, payload, headers, status, attempts, last_error,
                          traceback)
    VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, 0, %s, '')
    ON CONFLICT (partner_id, dedupe_key) DO NOTHING
    RETURNING id, status
), listed AS (
    INSERT INTO {_unpublished} (event_id) SELECT id FROM stored WHERE status = %s
)
SELECT id FROM stored
"""  # noqa: S608 - the table name is ours; every value is a parameter


def _insert(
    *,
    partner_id: int,
    dedupe_key: str,
    hub_event_id: str,
    event_type: str,
    raw_body: bytes,
    payload: dict[str, object] | None,
    headers: dict[str, str],
    status: str,
    last_error: str,
) -> int | None:
    """The new row's id, or None when the partner has this delivery already.

    Django checks a kept connection with a query of its own before a request's first statement
    (CONN_HEALTH_CHECKS): a round trip per delivery. Here the INSERT is that check: if the kept
    connection turns out to be broken (PostgreSQL restarted), it runs once more on a new one.
    Either way it is stored at most once (the conflict target)."""
    values: list[Any] = [
        partner_id,
        timezone.now(),
        dedupe_key,
        hub_event_id,
        event_type,
        raw_body,
        None if payload is None else json.dumps(payload),
        json.dumps(headers),
        status,
        last_error,
        Status.RECEIVED,
    ]
    if connection.in_atomic_block:
        return _insert_row(values)
    connection.health_check_done = True  # type: ignore[attr-defined]  # Django's own flag
    try:
        return _insert_row(values)
    except (InterfaceError, OperationalError):
        connection.close()
        return _insert_row(values)


class _PreparedCursor(psycopg.Cursor[Any]):
    """Binds the parameters on the server, and prepares each statement on the connection the
    first time it runs: the INSERT is then neither quoted into text by us nor parsed and planned
    by PostgreSQL again for every delivery. (Django's own cursors bind on the client.)"""

    def execute(  # the same call, always prepared
        self,
        query: Any,
        params: Any = None,
        *,
        prepare: bool | None = None,
        binary: bool | None = None,
    ) -> _PreparedCursor:
        super().execute(query, params, prepare=True, binary=binary)
        return self


def _insert_row(values: list[Any]) -> int | None:
    connection.ensure_connection()
    raw = _PreparedCursor(connection.connection)
    # Wrapped as Django wraps its own cursors: errors become Django's, and the statement is
    # counted wherever queries are (DEBUG, the tests' query counts).
    wrapper = CursorDebugWrapper if connection.queries_logged else CursorWrapper
    with wrapper(raw, connection) as cursor:
        cursor.execute(_INSERT, values)
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def webhook_rejection_record(*, partner: Partner, reason: str) -> None:
    """Count a delivery refused for its signature; its body is neither stored nor logged."""
    Partner.objects.filter(pk=partner.pk).update(
        webhook_rejected_count=F("webhook_rejected_count") + 1,
        webhook_rejected_at=timezone.now(),
    )
    logger.warning("webhook rejected", extra={"partner": partner.slug, "reason": reason})


def enqueue_processing(event: WebhookEvent) -> bool:
    return enqueue("webhooks.process_event", event.partner_id, event.pk)


def webhook_events_process(*, partner: Partner, event_pks: list[int]) -> dict[str, int]:
    """Apply the events in the order given (the relay's: see webhooks.relay); how many ended
    in each status ("done before" for those an earlier run applied).

    Together first: one transaction claims them all with one UPDATE and applies them one after
    the other, so a batch costs one BEGIN, claim and COMMIT instead of one per event. If any of
    them fails (a handler's error, a malformed event, a lock it may not wait for), the whole
    batch is rolled back and each event is applied alone, as webhook_event_process does, so
    only the failing one fails and is retried."""
    if len(event_pks) > 1:
        try:
            return _process_together(partner=partner, event_pks=event_pks)
        except Exception:  # each event alone says what failed, and records it
            logger.info("a batch of webhooks failed together; applying them one by one")
    outcomes: dict[str, int] = {}
    for event_pk in event_pks:
        outcome = webhook_event_process(partner=partner, event_pk=event_pk)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def _process_together(*, partner: Partner, event_pks: list[int]) -> dict[str, int]:
    outcomes: dict[str, int] = {}
    with transaction.atomic():
        payloads = _claim(partner_id=partner.pk, event_pks=event_pks)
        for event_pk in event_pks:
            if event_pk not in payloads:
                outcomes["done before"] = outcomes.get("done before", 0) + 1
                continue
            outcome = event_dispatch(partner=partner, event=parse_event(payloads[event_pk]))
            if outcome != Status.PROCESSED:
                WebhookEvent.objects.filter(pk=event_pk).update(status=outcome)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def webhook_event_process(*, partner: Partner, event_pk: int) -> str:
    """Apply the event once; its status afterwards. Runs in the partner's scope.

    The event is claimed and marked processed by one UPDATE, which holds its row lock until the
    handler's work commits: a second run waits for it, then finds the event done. A failing
    handler rolls the claim back with its own work, and the failure is recorded apart."""
    try:
        with transaction.atomic():
            payload = _claim(partner_id=partner.pk, event_pks=[event_pk]).get(event_pk)
            if payload is None:
                # Done by an earlier run, or a failed one whose retry is not due (or that was
                # given up: replay it).
                return str(WebhookEvent.objects.values_list("status", flat=True).get(pk=event_pk))
            outcome = event_dispatch(partner=partner, event=parse_event(payload))
            if outcome != Status.PROCESSED:
                WebhookEvent.objects.filter(pk=event_pk).update(status=outcome)
            return outcome
    except PayloadError as problem:
        _record_malformed(event_pk, problem)
        return Status.MALFORMED
    except Exception as problem:
        _record_failure(event_pk, problem)
        return Status.FAILED


# The claim: only an event waiting (received), or failed with its retry due, is taken; it is
# marked processed at once (the handler's outcome corrects it when it is not) and its payload
# read back, in one statement that locks the rows until the transaction ends. The raw body is
# never rewritten.
#
# The rows are found by primary key alone: the other conditions are one `IS TRUE` test, which
# no index can answer. In a burst the table's statistics lag behind (received events look rare,
# or a partner's rows few, until ANALYZE runs), and the planner ANDed the status and partner
# indexes instead: every received event and every row of the partner read for a claim of 20.
_CLAIM = f"""
UPDATE {_table}
SET status = %s, attempts = attempts + 1, processed_at = %s, next_attempt_at = NULL,
    last_error = '', traceback = ''
WHERE id = ANY(%s)
  AND (partner_id = %s AND (status = %s OR (status = %s AND next_attempt_at <= %s))) IS TRUE
RETURNING id, payload
"""  # noqa: S608 - the table name is ours; every value is a parameter


def _claim(*, partner_id: int, event_pks: list[int]) -> dict[int, dict[str, object]]:
    """Claim every due event among `event_pks`: their payloads by id ({} for an event that
    has none); an event that is not due is left out."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM,
            [Status.PROCESSED, now, event_pks, partner_id, Status.RECEIVED, Status.FAILED, now],
        )
        rows = cursor.fetchall()
    return {int(pk): _as_payload(payload) for pk, payload in rows}


def _as_payload(value: object) -> dict[str, object]:
    payload = json.loads(value) if isinstance(value, str | bytes) else value
    return payload if isinstance(payload, dict) else {}


def _record_malformed(event_pk: int, problem: PayloadError) -> None:
    """A known event that lacks what the portal relies on: kept, not acted on, not retried.
    Whatever its handler began was rolled back."""
    WebhookEvent.objects.filter(pk=event_pk, status__in=[Status.RECEIVED, Status.FAILED]).update(
        status=Status.MALFORMED,
        attempts=F("attempts") + 1,
        processed_at=timezone.now(),
        next_attempt_at=None,
        last_error=str(problem),
        traceback="",
    )


def _record_failure(event_pk: int, problem: Exception) -> None:
    """The handler's work was rolled back; keep why, and when to try again (or that we stop)."""
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().get(pk=event_pk)
        event.attempts += 1
        event.status = Status.FAILED
        event.last_error = f"{type(problem).__name__}: {problem}"[:2000]
        event.traceback = "".join(traceback.format_exception(problem))[-20000:]
        if event.attempts < settings.WEBHOOK_MAX_ATTEMPTS:
            delay = backoff_seconds(event.attempts)
            event.next_attempt_at = timezone.now() + timedelta(seconds=delay)
        else:
            event.next_attempt_at = None  # left for an account manager to replay
        event.save()
    logger.warning(
        "webhook processing failed",
        extra={"event": event_pk, "attempts": event.attempts, "error": event.last_error},
    )


def webhook_events_sweep() -> int:
    """Enqueue again what the broker lost or a dead worker dropped: events still `received` that
    were enqueued more than WEBHOOK_SWEEP_AFTER_SECONDS ago (stored then, if only the relay sent
    them, or never sent: the relay is down), and failed ones whose retry is due and that were not
    enqueued since; the number enqueued. Needs a scope over all partners.

    An event that only waits its turn behind a backlog is not enqueued twice: the queue is
    first-in first-out, so every event enqueued since the oldest one still waiting in it is
    waiting too, and the sweep leaves those alone however long the backlog is."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.WEBHOOK_SWEEP_AFTER_SECONDS)
    waiting_since = _oldest_waiting_enqueued_at()
    if waiting_since is not None:
        cutoff = min(cutoff, waiting_since)
    not_since = Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=cutoff)
    due = WebhookEvent.objects.filter(
        Q(status=Status.RECEIVED)
        & (Q(enqueued_at__lt=cutoff) | Q(enqueued_at__isnull=True, received_at__lt=cutoff))
        | Q(status=Status.FAILED, next_attempt_at__lte=now)
        & (not_since | Q(enqueued_at__lt=F("next_attempt_at")))
    ).order_by("received_at")
    events = list(due.only("pk", "partner_id", "status"))
    pks = [event.pk for event in events]
    WebhookEvent.objects.filter(pk__in=pks).update(enqueued_at=now)
    UnpublishedEvent.objects.filter(event_id__in=pks).delete()  # sent here, not by the relay
    return sum(enqueue_processing(event) for event in events)


def _oldest_waiting_enqueued_at() -> datetime | None:
    """When the event whose processing waits longest in the broker's queue was enqueued (stored,
    if the relay sent it); None when nothing waits (or the queue cannot be read: then only the
    time counts)."""
    oldest = queue_oldest(settings.WEBHOOK_QUEUE)
    if oldest is None or len(oldest[1]) != 2:
        return None
    name, (_partner_id, events) = oldest[0], oldest[1]
    if name == "webhooks.process_events" and isinstance(events, list) and events:
        event_pk = events[0]  # a batch: its events were enqueued together
    elif name == "webhooks.process_event":
        event_pk = events
    else:
        return None
    enqueued_at: datetime | None = (
        WebhookEvent.objects.filter(pk=event_pk)
        .values_list(Coalesce("enqueued_at", "received_at"), flat=True)
        .first()
    )
    return enqueued_at


def webhook_event_replay(*, event: WebhookEvent) -> bool:
    """An account manager runs a failed (or malformed, after a fix) event again."""
    updated = WebhookEvent.objects.filter(
        pk=event.pk, status__in=[Status.FAILED, Status.MALFORMED, Status.IGNORED]
    ).update(status=Status.RECEIVED, next_attempt_at=None, enqueued_at=timezone.now())
    if updated:
        enqueue_on_commit("webhooks.process_event", event.partner_id, event.pk)
    return bool(updated)


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, value in list(headers.items())[:50]:
        lowered = _storable(name.lower())
        kept[lowered] = _storable(value[:500]) if lowered in _KEPT_HEADERS else "[redacted]"
    return kept


def _storable(text: str) -> str:
    """Text a jsonb column takes: no NUL, no lone surrogate."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _dedupe_key(hub_id: str, body: bytes) -> str:
    if hub_id and len(hub_id) <= 120:
        return f"id:{hub_id}"
    if hub_id:
        return f"id-sha256:{hashlib.sha256(hub_id.encode()).hexdigest()}"
    return f"sha256:{hashlib.sha256(body).hexdigest()}"
