"""WhatsApp numbers (channels), the partner's permission on them, and their API keys."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from clients.models import Client, Onboarding
from portal.encryption import EncryptedTextField
from portal.models import HttpsURLField, Partner, TenantModel, TimeStampedModel


class Channel(TenantModel, TimeStampedModel):
    """One WhatsApp number of a client, as 360Dialog reports it."""

    class Status(models.TextChoices):
        CREATED = "created", "Created"
        SUBMITTED = "submitted", "Submitted"
        READY = "ready", "Ready"
        RUNNING = "running", "Running"
        LIVE = "live", "Live"

    class Permission(models.TextChoices):
        UNKNOWN = "unknown", "Unknown"
        GRANTED = "granted", "Granted"
        REVOKED = "revoked", "Withdrawn"

    client = models.ForeignKey(Client, on_delete=models.PROTECT, related_name="channels")
    onboarding = models.ForeignKey(
        Onboarding, null=True, blank=True, on_delete=models.SET_NULL, related_name="channels"
    )
    hub_channel_id = models.CharField("360Dialog channel id", max_length=64)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.CREATED, db_index=True
    )
    account_mode = models.CharField(max_length=16, blank=True)
    phone_number = models.CharField(max_length=20, blank=True)
    phone_name = models.CharField(max_length=200, blank=True)
    waba_id = models.CharField("WABA id", max_length=64, blank=True)
    permission = models.CharField(
        max_length=10, choices=Permission.choices, default=Permission.UNKNOWN
    )
    permission_changed_at = models.DateTimeField(null=True, blank=True)
    has_violation = models.BooleanField(default=False)
    is_restricted = models.BooleanField(default=False)
    cancellation_requested = models.BooleanField(default=False)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    # Why the last attempt to create its API key failed for good (a 4xx, or retries used up).
    api_key_error = models.CharField("API key error", max_length=500, blank=True)
    api_key_error_at = models.DateTimeField("API key error at", null=True, blank=True)
    # When its key's provisioning was queued; cleared when that run ends. While set (and
    # recent), further events queue no second one (channels.services.channel_provision_if_due).
    key_requested_at = models.DateTimeField(
        "API key requested at", null=True, blank=True, editable=False
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "hub_channel_id"], name="channel_unique_hub_id_per_partner"
            ),
        ]

    def __str__(self) -> str:
        return self.phone_number or self.hub_channel_id

    @property
    def label(self) -> str:
        """How messages name it: its number, or its 360Dialog id before the number is known."""
        return f"+{self.phone_number}" if self.phone_number else f"channel {self.hub_channel_id}"


class ApiKey(TenantModel):
    """A channel's WhatsApp API key. Only the newest one works; earlier ones are revoked."""

    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="api_keys")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    hub_key_id = models.CharField("360Dialog key id", max_length=64, blank=True)
    key = EncryptedTextField()
    last4 = models.CharField("last 4", max_length=4)
    fingerprint = models.CharField(max_length=16, help_text="First 16 hex digits of its SHA-256.")
    address = HttpsURLField(blank=True, help_text="The WhatsApp API base URL for this key.")
    app_id = models.CharField(max_length=64, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"
        constraints = [
            models.UniqueConstraint(
                fields=["channel"],
                condition=Q(revoked_at__isnull=True),
                name="apikey_one_current_per_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"…{self.last4} ({self.fingerprint})"


class PartnerApiCall(TenantModel):
    """One call to 360Dialog's Partner API: what was asked, how it ended, how long it took and
    the error's text; never a key, a secret or a body. Written on a connection of its own
    (channels.api_calls), so a failed call stays recorded when the caller's transaction rolls
    back. Calls made for a channel or an onboarding are all kept (its story shows them); calls
    for the whole partner (reconciliation's pages) only when they fail."""

    at = models.DateTimeField()
    operation = models.CharField(max_length=40)
    # The HTTP status, "timeout" or "transport".
    outcome = models.CharField(max_length=16)
    ok = models.BooleanField()
    duration_ms = models.PositiveIntegerField()
    error = models.CharField(max_length=500, blank=True)
    # No database constraints: the caller may hold its channel or onboarding locked (FOR
    # UPDATE), or not have committed it yet, while this row is written on the other connection.
    partner = models.ForeignKey(
        Partner, on_delete=models.PROTECT, db_constraint=False, related_name="+"
    )
    channel = models.ForeignKey(
        Channel,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the indexes below lead with it
        related_name="+",
    )
    onboarding = models.ForeignKey(
        Onboarding,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,  # the indexes below lead with it
        related_name="+",
    )

    class Meta:
        verbose_name = "Partner API call"
        indexes = [
            models.Index(fields=["onboarding", "at"], name="apicall_onboarding_time"),
            models.Index(fields=["channel", "at"], name="apicall_channel_time"),
            models.Index(
                fields=["partner", "at"], condition=Q(ok=False), name="apicall_partner_errors"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.outcome}"
