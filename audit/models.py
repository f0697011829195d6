"""Who did what, when, to which row, and how it ended: staff actions in the console, reads of
API keys (by staff or through the partner API), secret replacements and membership changes.
Rows are only ever added; nothing edits or deletes them."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from portal.models import TenantModel


class AuditEntry(TenantModel):
    class Outcome(models.TextChoices):
        OK = "ok", "Done"
        REFUSED = "refused", "Refused"
        FAILED = "failed", "Failed"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # A staff user, or none when an API token acted (then `actor` names the token).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.CharField(max_length=150, help_text="The user name, or the API token's name.")
    action = models.CharField(max_length=64, db_index=True)
    # What it was done to: "onboarding", "channel", "api_key", "invite", "partner", ...
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.OK)
    reason = models.CharField(max_length=500, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    # Details that help later; never a key, a token or a secret.
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["partner", "-created_at"], name="audit_partner_recent"),
            models.Index(fields=["target_type", "target_id"], name="audit_target"),
        ]

    def __str__(self) -> str:
        return f"{self.actor}: {self.action} {self.target_label or self.target_id} ({self.outcome})"
