"""Every partner webhook delivery, stored before it is answered."""

from __future__ import annotations

from django.db import models

from portal.models import Partner, TenantModel


class WebhookEvent(TenantModel):
    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"
        MALFORMED = "malformed", "Malformed"

    # Looked up through the unique constraint, whose first column it is.
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+", db_index=False)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # The event id when the body has one, otherwise a hash of the body.
    dedupe_key = models.CharField(max_length=128)
    hub_event_id = models.CharField("360Dialog event id", max_length=128, blank=True)
    event_type = models.CharField(max_length=64, blank=True)
    raw_body = models.BinaryField()
    payload = models.JSONField(null=True, blank=True)
    headers = models.JSONField(default=dict, blank=True, help_text="Secrets redacted.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When its processing was last sent to the broker by the sweep or a replay; null when only
    # the relay sent it, as soon as it was stored (then `received_at` stands for it).
    enqueued_at = models.DateTimeField(null=True, blank=True, editable=False)
    processed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        # Every delivery writes each of these, and so does its claim (which changes the status),
        # so there are no more than the reads need: status is the sweep index's first column,
        # the partner the unique constraint's, and the event type is compared for equality only
        # (the admin's filter). What the relay publishes next is a table of its own.
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhookevent_sweep"),
            models.Index(fields=["event_type"], name="webhookevent_type"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "dedupe_key"], name="webhookevent_unique_per_partner"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type or 'unknown'} {self.hub_event_id or self.dedupe_key[:12]}"


class UnpublishedEvent(models.Model):
    """A stored delivery the relay has not published to the workers yet (webhooks.relay): the
    relay deletes the row as it publishes the event, so the event's own row, with its payload
    and indexes, is written when it is stored and when it is applied, never in between.

    Written in the statement that stores the delivery (webhooks.services); no foreign-key
    constraint, whose check would lock the event's row."""

    event = models.OneToOneField(
        WebhookEvent,
        primary_key=True,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="+",
    )

    def __str__(self) -> str:
        return f"event {self.event_id} (unpublished)"
