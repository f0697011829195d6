"""What happened, as the partner's platform hears it: one row per domain event (the outbox).

The domain's writes record these in their own transaction; rooms on top read them (the
outbound deliveries, the API's events feed). This app imports none of them."""

from __future__ import annotations

import uuid

from django.db import models

from portal.models import TenantModel

# Every event the domain records; `domain_event_record` refuses any other type.
EVENT_TYPES = (
    "onboarding.started",
    "onboarding.returned",
    "onboarding.live",
    "onboarding.failed",
    "onboarding.stuck",
    "channel.status_changed",
    "channel.permission_changed",
    "channel.api_key_ready",
    "channel.api_key_revoked",
)


class DomainEvent(TenantModel):
    """One event, written in the transaction of the change it reports."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=40, db_index=True)
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Set once a reader on top has fanned the event out (outbound deliveries); null rows are
    # what a sweep picks up when the wake-up after commit was lost.
    relayed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["partner", "id"], name="domain_event_feed"),
            models.Index(
                fields=["id"],
                name="domain_event_unrelayed",
                condition=models.Q(relayed_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"
