"""What the console keeps of its own: onboardings found stuck, and a partner's own thresholds
for finding them."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from clients.models import Onboarding
from portal.models import TenantModel


class StuckReason(models.TextChoices):
    """Why an onboarding is stuck; each has a threshold in STUCK_THRESHOLDS_MINUTES except the
    ones that are stuck at once (a final key error, a number already connected elsewhere)."""

    RETURNED_NO_CHANNEL = "returned_no_channel", "Returned, but no number arrived"
    CHANNEL_NOT_RUNNING = "channel_not_running", "Number not running yet"
    RUNNING_NO_KEY = "running_no_key", "Number running without an API key"
    KEY_ERROR = "key_error", "API key could not be created"
    PERMISSION_MISSING = "permission_missing", "Permission not granted (Direct Payment)"
    CANCELLED = "cancelled", "Number cancelled or flagged by 360Dialog"
    NUMBER_ELSEWHERE = "number_elsewhere", "Number already connected to another onboarding"
    WEBHOOK_FAILED = "webhook_failed", "A webhook about the number failed"


class StuckFlag(TenantModel):
    """An onboarding that stopped moving: why, and since when. Made and cleared by the stuck
    check (beat); an account manager may mark it resolved, which holds until it moves."""

    onboarding = models.OneToOneField(
        Onboarding, on_delete=models.CASCADE, related_name="stuck_flag"
    )
    reason = models.CharField(max_length=32, choices=StuckReason.choices)
    detail = models.CharField(max_length=300, blank=True)
    # When the condition began (the return, the channel's creation, the key error).
    since = models.DateTimeField()
    flagged_at = models.DateTimeField(auto_now_add=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["since"]
        indexes = [
            models.Index(fields=["partner", "resolved_at", "since"], name="stuckflag_open"),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} since {self.since:%Y-%m-%d %H:%M}"


class StuckThresholds(TenantModel):
    """A partner's own thresholds, in minutes; an empty one follows the setting."""

    returned_no_channel = models.PositiveIntegerField(
        "returned, no number after (min)", null=True, blank=True
    )
    channel_not_running = models.PositiveIntegerField(
        "number not running after (min)", null=True, blank=True
    )
    running_no_key = models.PositiveIntegerField(
        "running without a key after (min)", null=True, blank=True
    )
    permission_missing = models.PositiveIntegerField(
        "no permission (Direct Payment) after (min)", null=True, blank=True
    )

    class Meta:
        verbose_name = "stuck thresholds"
        verbose_name_plural = "stuck thresholds"
        constraints = [
            models.UniqueConstraint(fields=["partner"], name="stuckthresholds_one_per_partner"),
        ]

    def __str__(self) -> str:
        return "Stuck thresholds"


class PageEvent(TenantModel):
    """Something a client's page reported about itself through the beacon (console.beacon):
    for the funnel's first steps and the onboarding's story. Nothing personal: the partner,
    the onboarding (if the page had one), what happened, when, and the page's random id, so
    that one page's event counts once."""

    class Kind(models.TextChoices):
        SIGNUP_VIEWED = "signup_viewed", "Signup page viewed"
        POPUP_BLOCKED = "popup_blocked", "Popup blocked"
        POPUP_CLOSED_EARLY = "popup_closed_early", "Popup closed before the return"

    kind = models.CharField(max_length=24, choices=Kind.choices)
    onboarding = models.ForeignKey(
        Onboarding, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    page = models.CharField(max_length=32)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "page", "kind"], name="pageevent_once_per_page"
            ),
        ]
        indexes = [
            models.Index(fields=["partner", "at"], name="pageevent_partner_time"),
            models.Index(fields=["onboarding", "at"], name="pageevent_onboarding_time"),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()
