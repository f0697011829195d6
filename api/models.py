"""Tokens with which a partner's own platform calls the REST API (`/api/v1/`)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

from portal.models import TenantModel, TimeStampedModel


class ApiToken(TenantModel, TimeStampedModel):
    """One partner's credential for the API. The token itself is shown once, when made; the
    database keeps its SHA-256 and a short prefix to recognise it by."""

    class Scope(models.TextChoices):
        READ = "read", "read: onboardings, clients, channels, events"
        INVITES = "invites", "invites: create and revoke invites"
        KEYS = "keys", "keys: read a channel's API key"
        ENDPOINTS = "endpoints", "endpoints: list, add, rotate and disable outbound endpoints"

    name = models.CharField(max_length=100, help_text="Who uses it, e.g. “CRM sync”.")
    scopes = ArrayField(models.CharField(max_length=16, choices=Scope.choices), default=list)
    prefix = models.CharField(max_length=16, editable=False, help_text="Its first characters.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["partner", "name"], name="apitoken_unique_name"),
            models.CheckConstraint(
                name="apitoken_known_scopes",
                condition=Q(scopes__contained_by=["read", "invites", "keys", "endpoints"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def usable(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
