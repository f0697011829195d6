"""Sending the domain's events to the partner's platform: endpoints and deliveries."""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models

from events.models import EVENT_TYPES, DomainEvent
from portal.encryption import EncryptedTextField
from portal.models import HttpsURLField, TenantModel, TimeStampedModel


class Endpoint(TenantModel, TimeStampedModel):
    """A URL of the partner's platform that receives signed events."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    url = HttpsURLField("URL", max_length=500)
    event_types = ArrayField(
        models.CharField(max_length=40, choices=[(t, t) for t in EVENT_TYPES]),
        default=list,
        blank=True,
        help_text="Empty: every event.",
    )
    enabled = models.BooleanField(default=True)
    # Standard Webhooks secrets (whsec_...): shown once; the previous one keeps signing too
    # until `previous_secret_until`, so a receiver can switch without losing events.
    secret = EncryptedTextField(editable=False)
    previous_secret = EncryptedTextField(blank=True, default="", editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_reason = models.CharField(max_length=200, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return str(self.url)

    def wants(self, event_type: str) -> bool:
        return self.enabled and (not self.event_types or event_type in self.event_types)


class Delivery(TenantModel):
    """One event to one endpoint, tried until the endpoint answers 2xx or a day has passed."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    event = models.ForeignKey(DomainEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="delivery_once_per_endpoint")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self) -> str:
        return f"{self.event.type} → {self.endpoint.url} ({self.status})"
