"""End clients, their onboardings, and each onboarding's timeline."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import models

from dialog360.io_link import normalize_number
from portal.models import TenantModel, TimeStampedModel


def validate_phone_number(value: str) -> None:
    """A number 360Dialog takes: its country code first (forms store it normalised)."""
    try:
        normalize_number(value)
    except ValueError:
        raise ValidationError(
            "Enter the number with its country code, for example +49 151 12345678."
        ) from None


class Client(TenantModel, TimeStampedModel):
    """A business that signed up at 360Dialog under a partner."""

    hub_client_id = models.CharField("360Dialog client id", max_length=64)
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    partner_payload = models.CharField(
        max_length=200, blank=True, help_text="The `partner` value sent at signup (CRM reference)."
    )
    hub_status = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "hub_client_id"], name="client_unique_hub_id_per_partner"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.hub_client_id


class Onboarding(TenantModel, TimeStampedModel):
    """One attempt by an end client to connect WhatsApp numbers, from signup page to live key."""

    class Status(models.TextChoices):
        STARTED = "started", "Started"
        OPENED = "opened", "Popup opened"
        RETURNED = "returned", "Returned from 360Dialog"
        LIVE = "live", "Live"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Indexed with created_at below (a client's latest onboarding, on every channel event).
    client = models.ForeignKey(
        Client,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="onboardings",
        db_index=False,
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.STARTED, db_index=True
    )
    email = models.EmailField(blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    phone_number = models.CharField(max_length=20, blank=True, validators=[validate_phone_number])
    partner_payload = models.CharField(
        max_length=200, blank=True, help_text="CRM reference passed to 360Dialog as `partner`."
    )
    lang = models.CharField(max_length=8, default="en")
    # Only a SHA-256 of the return token is stored; the token itself lives in the redirect URL.
    # NULL until the first launch mints one, and for onboardings nobody launches (stand-ins
    # made from webhooks, returns without our token).
    return_token_hash = models.CharField(
        max_length=64, unique=True, null=True, blank=True, editable=False
    )
    # Until when the current return token is taken: two days from signup, and from each later
    # visit to the permission page once the client came back (clients.onboarding).
    expires_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Made for a client that reached us only through 360Dialog's webhooks; merged into the real
    # onboarding as soon as one is linked to the client.
    started_by_webhook = models.BooleanField(default=False, editable=False)
    # The last return's parameters (client, channels, revoked): a replay must match them.
    return_data = models.JSONField(default=dict, blank=True, editable=False)
    verified = models.BooleanField(
        default=True,
        help_text="False for returns that did not carry our token, until the Partner API confirms.",
    )

    class DeadEnd(models.TextChoices):
        """Why the client's page cannot go on by itself (it says so, and what to do)."""

        NONE = "", "None"
        NUMBER_ELSEWHERE = "number_elsewhere", "Number already connected to another onboarding"

    dead_end = models.CharField(
        max_length=32, choices=DeadEnd.choices, blank=True, default="", editable=False
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["partner", "status"], name="onboarding_partner_status"),
            # Found by its own index whatever the statistics say: with the partner's and the
            # client's indexes ANDed, the lookup read every onboarding of the partner.
            models.Index(fields=["client", "-created_at"], name="onboarding_client_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.email or self.public_id}"


class TimelineEntry(TenantModel):
    """Something that happened to an onboarding, in the order it happened."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        LAUNCHED = "launched", "Popup launched"
        RETURNED = "returned", "Returned"
        WEBHOOK = "webhook", "Webhook applied"
        STALE_EVENT = "stale_event", "Stale event ignored"
        STATUS = "status", "Status changed"
        PERMISSION = "permission", "Permission changed"
        API_KEY = "api_key", "API key"
        CORRECTION = "correction", "Corrected by reconciliation"
        NOTIFICATION = "notification", "Notification sent"
        ERROR = "error", "Error"
        NOTE = "note", "Note"

    onboarding = models.ForeignKey(Onboarding, on_delete=models.CASCADE, related_name="timeline")
    created_at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    message = models.CharField(max_length=500)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "timeline entries"
        indexes = [
            models.Index(fields=["onboarding", "created_at"], name="timeline_onboarding_time")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message}"


class Notification(TenantModel):
    """One e-mail about one event, sent once: its key is unique per partner."""

    class Kind(models.TextChoices):
        KEY_READY = "key_ready", "API key ready"
        ONBOARDING_FAILED = "onboarding_failed", "Onboarding failed"

    onboarding = models.ForeignKey(
        Onboarding, on_delete=models.CASCADE, related_name="notifications"
    )
    key = models.CharField(max_length=200, help_text="What it is about, e.g. key_ready:<key id>.")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    # The same mail as HTML, in the partner's colours and with its logo.
    html_body = models.TextField(blank=True)
    recipients = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "key"], name="notification_once_per_key"),
        ]

    def __str__(self) -> str:
        return self.subject


class Invite(TenantModel, TimeStampedModel):
    """A link an account manager sends a client: the signup page, pre-filled."""

    # What the partner API calls it (never the primary key).
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The link's token is shown once, when the invite is made; only its SHA-256 is stored.
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    email = models.EmailField(blank=True)
    contact_name = models.CharField(max_length=200, blank=True)
    phone_number = models.CharField(max_length=20, blank=True, validators=[validate_phone_number])
    partner_payload = models.CharField(
        "CRM reference", max_length=200, blank=True, help_text="Sent to 360Dialog as `partner`."
    )
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.email or self.contact_name or f"invite {self.pk}"
