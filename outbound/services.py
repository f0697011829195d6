"""Delivering the domain's events (events.DomainEvent) to the partner's endpoints.

The domain records an event in the transaction of its change; once that commits, the relay
(`manage.py relay`) is woken by the row's trigger and fans it out: one delivery per endpoint that
wants it. Deliveries are
sent by a worker on the `outbound` queue; the sweep relays and sends whatever the broker lost."""

from __future__ import annotations

import json
import logging
import random
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from events.models import DomainEvent
from events.services import event_document
from outbound import http
from outbound.models import Delivery, Endpoint
from outbound.signing import secret_new, signature_header
from portal.models import Partner, PartnerMembership
from portal.queueing import enqueue, enqueue_on_commit

logger = logging.getLogger(__name__)

RETRY_FOR = timedelta(hours=24)
DISABLE_AFTER = timedelta(days=3)
PREVIOUS_SECRET_VALID = timedelta(hours=24)


def domain_event_relay(*, event_id: int) -> int:
    """One pending delivery per enabled endpoint that wants the event, enqueued after commit;
    the event is marked relayed. Returns how many; 0 if it was relayed already (or is being
    relayed by another worker)."""
    with transaction.atomic():
        events = list(
            DomainEvent.objects.select_for_update(skip_locked=True).filter(
                pk=event_id, relayed_at__isnull=True
            )
        )
        return _fan_out(events)


def domain_events_relay(*, limit: int | None = None) -> int:
    """The relay's part for domain events (`manage.py relay`, woken by each recorded event's
    trigger): fan out up to `limit` (RELAY_BATCH) events not yet relayed, oldest first, in one
    transaction; how many events. Events of partners without endpoints cost one UPDATE for the
    whole batch. Needs a scope over every partner."""
    with transaction.atomic():
        events = list(
            DomainEvent.objects.select_for_update(skip_locked=True)
            .filter(relayed_at__isnull=True)
            .order_by("pk")
            .only("pk", "partner_id", "type")[: limit or settings.RELAY_BATCH]
        )
        _fan_out(events)
    return len(events)


def _fan_out(events: list[DomainEvent]) -> int:
    """In the caller's transaction, with `events` locked: their deliveries made (enqueued after
    commit) and the events marked relayed; how many deliveries."""
    if not events:
        return 0
    now = timezone.now()
    endpoints: dict[int, list[Endpoint]] = {}
    for endpoint in Endpoint.objects.filter(partner_id__in={e.partner_id for e in events}):
        endpoints.setdefault(endpoint.partner_id, []).append(endpoint)
    deliveries = Delivery.objects.bulk_create(
        Delivery(partner_id=event.partner_id, event=event, endpoint=endpoint, next_attempt_at=now)
        for event in events
        for endpoint in endpoints.get(event.partner_id, [])
        if endpoint.wants(event.type)
    )
    DomainEvent.objects.filter(pk__in=[event.pk for event in events]).update(relayed_at=now)
    for delivery in deliveries:
        enqueue_on_commit("outbound.deliver", delivery.partner_id, delivery.pk)
    return len(deliveries)


def event_body(event: DomainEvent) -> bytes:
    """What is sent and what the feed shows: a stable shape, versioned."""
    return json.dumps(event_document(event), separators=(",", ":"), sort_keys=True).encode()


def endpoint_create(
    *, partner: Partner, url: str, event_types: list[str] | None = None
) -> tuple[Endpoint, str]:
    """A new endpoint and its signing secret, returned only here."""
    http.url_check(url)
    secret = secret_new()
    endpoint = Endpoint.objects.create(
        partner=partner, url=url, event_types=event_types or [], secret=secret
    )
    return endpoint, secret


def endpoint_secret_rotate(*, endpoint: Endpoint) -> str:
    """A new secret; the old one keeps signing alongside it for 24 hours."""
    secret = secret_new()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = timezone.now() + PREVIOUS_SECRET_VALID
    endpoint.secret = secret
    endpoint.save(
        update_fields=["secret", "previous_secret", "previous_secret_until", "updated_at"]
    )
    return secret


def _secrets_in_use(endpoint: Endpoint, now: datetime) -> list[str]:
    in_use = [endpoint.secret]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_until
        and endpoint.previous_secret_until > now
    ):
        in_use.append(endpoint.previous_secret)
    return in_use


def retry_delay(attempts: int, retry_after: float | None) -> float:
    """Exponential from OUTBOUND_RETRY_BASE_SECONDS, with full jitter on the upper half, capped
    at an hour; a longer Retry-After from the receiver wins."""
    base = settings.OUTBOUND_RETRY_BASE_SECONDS * (2 ** max(0, attempts - 1))
    delay = min(base, 3600.0)
    delay = delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 - jitter, not a secret
    return float(max(delay, retry_after or 0.0))


def delivery_attempt(*, delivery_id: int) -> float | None:
    """Send a due delivery once. Returns the seconds until its next attempt, or None when it is
    done (delivered, given up, not due, or taken by another worker)."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "endpoint")
            .filter(pk=delivery_id, status=Delivery.Status.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return None
        event, endpoint = delivery.event, delivery.endpoint
        if not endpoint.enabled:
            return None
        body = event_body(event)
        msg_id = str(event.public_id)
        timestamp = int(now.timestamp())
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(
                _secrets_in_use(endpoint, now), msg_id, timestamp, body
            ),
        }
        # The row stays locked while we wait (10 s at most): no second worker sends it too.
        answer = http.post(endpoint.url, body, headers)
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_status_code = answer.status
        delivery.last_duration_ms = answer.duration_ms
        delivery.response_excerpt = answer.excerpt
        delivery.last_error = answer.error
        if answer.status is not None and 200 <= answer.status < 300:
            delivery.status = Delivery.Status.DELIVERED
            delivery.delivered_at = timezone.now()
            delivery.save()
            if endpoint.failing_since is not None:
                endpoint.failing_since = None
                endpoint.save(update_fields=["failing_since", "updated_at"])
            return None
        if not delivery.last_error:
            delivery.last_error = f"answered {answer.status}"
        if endpoint.failing_since is None:
            endpoint.failing_since = now
            endpoint.save(update_fields=["failing_since", "updated_at"])
        elif now - endpoint.failing_since >= DISABLE_AFTER:
            _endpoint_disable(endpoint, now)
        delay = retry_delay(delivery.attempts, answer.retry_after)
        if now + timedelta(seconds=delay) - event.created_at > RETRY_FOR or not endpoint.enabled:
            delivery.status = Delivery.Status.FAILED
            delivery.save()
            return None
        delivery.next_attempt_at = now + timedelta(seconds=delay)
        delivery.save()
        return delay


def _endpoint_disable(endpoint: Endpoint, now: datetime) -> None:
    reason = f"failing since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC"
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    # Only the worker that turns it off tells the managers (one mail, however many failed).
    turned_off = Endpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
        enabled=False, disabled_reason=reason, updated_at=now
    )
    if turned_off:
        logger.warning(
            "outbound endpoint disabled after failing for 3 days",
            extra={"partner_id": endpoint.partner_id, "endpoint_id": endpoint.pk},
        )
        enqueue_on_commit("outbound.endpoint_disabled_mail", endpoint.partner_id, endpoint.pk)


def endpoint_disabled_mail_send(*, endpoint_id: int) -> int:
    """One mail to the partner's managers: this endpoint was turned off after failing for
    3 days. Returns how many were told."""
    endpoint = Endpoint.objects.select_related("partner").get(pk=endpoint_id)
    partner = endpoint.partner
    recipients = list(
        get_user_model()
        .objects.filter(
            partner_memberships__partner=partner,
            partner_memberships__role=PartnerMembership.Role.MANAGER,
            is_active=True,
        )
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
    )
    if recipients:
        send_mail(
            f"{partner.name}: outbound endpoint disabled",
            f"The endpoint {endpoint.url} answered no event for 3 days "
            f"({endpoint.disabled_reason}), so it was disabled: events are not sent to it "
            "any more. Fix the receiver, then enable it again in the admin "
            f"({settings.PUBLIC_BASE_URL}/admin/outbound/endpoint/) or add it anew through "
            "the API; events of the meantime can be fetched from the events feed "
            "(GET /api/v1/events).\n",
            settings.DEFAULT_FROM_EMAIL,
            recipients,
        )
    return len(recipients)


def endpoint_disable(*, endpoint: Endpoint, reason: str) -> Endpoint:
    """Turned off on request: nothing more is sent to it; pending deliveries stop."""
    if endpoint.enabled:
        endpoint.enabled = False
        endpoint.disabled_reason = reason[:200]
        endpoint.save(update_fields=["enabled", "disabled_reason", "updated_at"])
        Delivery.objects.filter(endpoint=endpoint, status=Delivery.Status.PENDING).update(
            status=Delivery.Status.FAILED, last_error="endpoint disabled"
        )
    return endpoint


def deliveries_send_again(*, delivery_ids: list[int]) -> int:
    """Account managers' "send again": due now, whatever happened before (same webhook-id)."""
    rows = list(Delivery.objects.filter(pk__in=delivery_ids).values_list("pk", "partner_id"))
    Delivery.objects.filter(pk__in=[pk for pk, _ in rows]).update(
        status=Delivery.Status.PENDING, next_attempt_at=timezone.now()
    )
    for pk, partner_id in rows:
        enqueue_on_commit("outbound.deliver", partner_id, pk)
    return len(rows)


def deliveries_sweep(*, now: datetime | None = None) -> int:
    """Relay the events whose wake-up was lost, then enqueue every pending delivery that is due
    (the broker lost it, or its retry is later than a countdown may wait). Needs a scope over
    every partner."""
    now = now or timezone.now()
    domain_events_relay(limit=1000)
    due = list(
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", "partner_id")[:1000]
    )
    for pk, partner_id in due:
        enqueue("outbound.deliver", partner_id, pk)
    return len(due)
