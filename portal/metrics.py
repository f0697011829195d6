"""Prometheus metrics: `GET /metrics` (bearer token METRICS_TOKEN) and, in a Celery worker, an
endpoint of its own (METRICS_WORKER_ADDRESS).

Two kinds of figures:
- counted in the process that saw them (webhook answers and their latency, Partner API calls):
  with PROMETHEUS_MULTIPROC_DIR set, every process on the host writes to that folder and any one
  endpoint reports the sum (gunicorn's workers, the Celery worker's children);
- read from the database and the broker when scraped (events waiting and the oldest one's age,
  queue depth, onboardings by step, channels with a key error, keys): true whichever process
  answers, and after restarts. Each is one indexed or grouped query.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any

from django.conf import settings
from django.db.models import Count, Min, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

WEBHOOK_ACK_SECONDS = Histogram(
    "portal_webhook_ack_seconds",
    "Time from a webhook request reaching the view to its answer.",
    buckets=(0.002, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
WEBHOOK_DELIVERIES = Counter(
    "portal_webhook_deliveries",
    "Webhook deliveries by outcome: stored, duplicate, malformed, or the HTTP status refused.",
    ["outcome"],
)
PARTNER_API_CALLS = Counter(
    "portal_partner_api_calls",
    "Partner API calls by operation and outcome (the HTTP status, timeout or transport).",
    ["operation", "outcome"],
)
PARTNER_API_SECONDS = Histogram(
    "portal_partner_api_seconds",
    "Partner API call latency by operation.",
    ["operation"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


def observe_webhook(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Count and time the webhook view's answers."""

    @wraps(view)
    def observed(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        started = time.perf_counter()
        response = view(request, *args, **kwargs)
        WEBHOOK_ACK_SECONDS.observe(time.perf_counter() - started)
        outcome = str(response.status_code)
        if response.status_code == 200:
            answer = json.loads(response.content)
            outcome = "duplicate" if answer.get("duplicate") else answer.get("status", "stored")
            outcome = "stored" if outcome == "received" else outcome
        WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()
        return response

    return observed


def observe_partner_api(operation: str, outcome: str, seconds: float, error: str = "") -> None:
    """The Partner API client's observer (dialog360.api.PartnerApiClient(observe=...)); the
    error's text is for the call records (channels.api_calls), not for metrics."""
    PARTNER_API_CALLS.labels(operation=operation, outcome=outcome).inc()
    PARTNER_API_SECONDS.labels(operation=operation).observe(seconds)


class DatabaseCollector(Collector):
    """What the database and the broker say, read at scrape time."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from channels.models import ApiKey, Channel
        from clients.models import Onboarding
        from portal.models import Partner
        from portal.tenancy import all_partners_scope
        from webhooks.models import WebhookEvent

        slugs = dict(Partner.objects.values_list("pk", "slug"))
        with all_partners_scope():
            waiting = GaugeMetricFamily(
                "portal_webhook_events_waiting",
                "Webhook events not yet applied (received) or given up on (failed), by partner.",
                labels=["partner", "status"],
            )
            pending = (
                WebhookEvent.objects.filter(
                    status__in=[WebhookEvent.Status.RECEIVED, WebhookEvent.Status.FAILED]
                )
                .values("partner_id", "status")
                .annotate(n=Count("id"), oldest=Min("received_at"))
            )
            oldest = None
            for row in pending:
                waiting.add_metric([slugs.get(row["partner_id"], "?"), row["status"]], row["n"])
                if row["status"] == WebhookEvent.Status.RECEIVED:
                    oldest = min(oldest or row["oldest"], row["oldest"])
            yield waiting
            age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
            yield GaugeMetricFamily(
                "portal_webhook_oldest_unprocessed_seconds",
                "Age of the oldest webhook event still waiting to be applied (0: none).",
                value=age,
            )
            rejected = GaugeMetricFamily(
                "portal_webhook_rejected",
                "Webhook deliveries refused for a missing or bad signature, by partner (ever).",
                labels=["partner"],
            )
            for pk, count in Partner.objects.values_list("pk", "webhook_rejected_count"):
                rejected.add_metric([slugs[pk]], count)
            yield rejected
            steps = GaugeMetricFamily(
                "portal_onboardings",
                "Onboardings by partner and status.",
                labels=["partner", "status"],
            )
            for row in Onboarding.objects.values("partner_id", "status").annotate(n=Count("id")):
                steps.add_metric([slugs.get(row["partner_id"], "?"), row["status"]], row["n"])
            yield steps
            yield GaugeMetricFamily(
                "portal_channels_key_error",
                "Channels whose API key could not be created (a final error, or retries ran out).",
                value=Channel.objects.exclude(api_key_error="").count(),
            )
            keys = GaugeMetricFamily(
                "portal_api_keys", "API keys stored, by state.", labels=["state"]
            )
            counts = ApiKey.objects.aggregate(
                current=Count("id", filter=Q(revoked_at__isnull=True)),
                revoked=Count("id", filter=Q(revoked_at__isnull=False)),
            )
            for state, n in counts.items():
                keys.add_metric([state], n)
            yield keys
        depth = GaugeMetricFamily(
            "portal_queue_depth", "Tasks waiting in the broker.", labels=["queue"]
        )
        for queue, length in _queue_depths().items():
            depth.add_metric([queue], length)
        yield depth


def worker_metrics_serve() -> None:
    """In a Celery worker: serve its counters on METRICS_WORKER_ADDRESS ("host:port"), if set.
    Bind it to an internal address: it has no authentication of its own."""
    address = settings.METRICS_WORKER_ADDRESS
    if not address:
        return
    host, _, port = address.rpartition(":")
    start_http_server(int(port), addr=host or "127.0.0.1", registry=registry(with_database=False))
    logger.info("worker metrics on %s", address)


def _queue_depths() -> dict[str, int]:
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        return {}
    from portal.celery import app

    try:
        with app.connection_for_write() as connection:
            client = connection.default_channel.client  # type: ignore[attr-defined]
            return {
                queue.name: int(client.llen(queue.name)) for queue in settings.CELERY_TASK_QUEUES
            }
    except Exception:  # the broker is down: no figure rather than no metrics
        logger.warning("queue depth unavailable", exc_info=True)
        return {}


def registry(*, with_database: bool) -> CollectorRegistry:
    """Every process's counters (multiprocess mode) or this one's, plus the database's figures."""
    collected = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(collected)  # type: ignore[no-untyped-call]
    else:
        for collector in (
            WEBHOOK_ACK_SECONDS,
            WEBHOOK_DELIVERIES,
            PARTNER_API_CALLS,
            PARTNER_API_SECONDS,
        ):
            collected.register(collector)
    if with_database:
        collected.register(DatabaseCollector())
    return collected


def metrics_view(request: HttpRequest) -> HttpResponse:
    """`GET /metrics` with `Authorization: Bearer <METRICS_TOKEN>`; 404 when no token is set."""
    token = settings.METRICS_TOKEN
    if not token:
        return HttpResponse(status=404)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return HttpResponse("a bearer token is required\n", status=401, content_type="text/plain")
    body = generate_latest(registry(with_database=True))
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
