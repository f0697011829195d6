"""Tenants (partners) and the staff who belong to them."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property

from dialog360.constants import DEFAULT_API_BASE_URL, DEFAULT_HUB_URL
from portal.encryption import EncryptedTextField
from portal.tenancy import TenantManager
from portal.tokens import token_new, unusable_token_hash


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class HttpsURLField(models.URLField):  # type: ignore[type-arg]
    """A URL field whose form assumes https:// when the scheme is left out."""

    def formfield(
        self,
        form_class: type[forms.Field] | None = None,
        choices_form_class: type[forms.ChoiceField] | None = None,
        **kwargs: Any,
    ) -> forms.Field | None:
        kwargs.setdefault("assume_scheme", "https")
        if form_class is not None:
            kwargs["form_class"] = form_class
        if choices_form_class is not None:
            kwargs["choices_form_class"] = choices_form_class
        return super().formfield(**kwargs)


def https_or_loopback(url: str) -> None:
    """360Dialog's endpoints receive the Partner API key: https only, except for a simulator
    on this machine."""
    parts = urlsplit(url)
    if parts.scheme == "https" or parts.hostname in ("127.0.0.1", "localhost", "::1"):
        return
    raise ValidationError("Use https:// (plain http only for 127.0.0.1 or localhost).")


def new_webhook_token() -> str:
    """Kept for the migration that made the first webhook tokens (stored in plain then)."""
    return token_new()


hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Enter a colour as #rrggbb.")


class Partner(TimeStampedModel):
    """One 360Dialog Partner Hub: the unit of tenancy."""

    class PaymentMode(models.TextChoices):
        PARTNER = "partner", "Partner Payment"
        DIRECT = "direct", "Direct Payment"

    class SignatureEncoding(models.TextChoices):
        HEX = "hex", "Lowercase hex"
        BASE64 = "base64", "Base64"

    class PlanSelection(models.TextChoices):
        REGULAR = "regular", "Regular"
        PREMIUM = "premium", "Premium"
        BASIC = "basic", "Basic (premium partners only)"

    slug = models.SlugField(
        max_length=50, unique=True, help_text="Appears in the signup URL: /p/<slug>/"
    )
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(
        default=True, help_text="Inactive partners' pages and webhooks answer 404."
    )

    # --- 360Dialog connection ---
    hub_partner_id = models.CharField(
        "360Dialog partner id",
        max_length=32,
        unique=True,
        validators=[
            RegexValidator(r"^[A-Za-z0-9]+PA$", "Letters and digits ending in PA, e.g. aAbBcCPA.")
        ],
    )
    payment_mode = models.CharField(max_length=10, choices=PaymentMode.choices)
    hub_url = HttpsURLField(
        "hub URL",
        default=DEFAULT_HUB_URL,
        validators=[https_or_loopback],
        help_text="Base of the IO permission page.",
    )
    api_base_url = HttpsURLField(
        "Partner API base URL", default=DEFAULT_API_BASE_URL, validators=[https_or_loopback]
    )
    api_key = EncryptedTextField("Partner API key", blank=True, default="")
    platform_secret = EncryptedTextField(
        blank=True, default="", help_text="Signs IO links and partner webhooks."
    )
    # The webhook URL's secret path segment is shown once (when made or rotated); only its
    # SHA-256 is stored, so nothing in the database or the admin gives it back.
    webhook_token_hash = models.CharField(
        max_length=64, unique=True, default=unusable_token_hash, editable=False
    )
    io_signature_enabled = models.BooleanField(
        "sign IO links",
        default=False,
        help_text="Send io_signature and io_timestamp with every launch (needs the secret).",
    )
    io_signature_encoding = models.CharField(
        max_length=10, choices=SignatureEncoding.choices, default=SignatureEncoding.HEX
    )
    # The io_timestamp of the last signed launch. An IO signature signs "<partner id>|<unix
    # seconds>", and 360Dialog takes each only once: two launches in the same second would get
    # the same one, so each launch claims a second of its own (portal.services).
    io_last_timestamp = models.BigIntegerField(default=0, editable=False)
    # Deliveries refused for a missing or bad signature: counted, never stored.
    webhook_rejected_count = models.PositiveIntegerField(
        "webhooks rejected", default=0, editable=False
    )
    webhook_rejected_at = models.DateTimeField("last webhook rejected", null=True, editable=False)
    default_lang = models.CharField(
        "default language", max_length=8, choices=settings.LANGUAGES, default="en"
    )
    plan_selection = models.CharField(
        max_length=10, choices=PlanSelection.choices, default=PlanSelection.REGULAR
    )

    # The partner's own platform may read channels' API keys through the REST API (audited);
    # only superusers switch it on.
    api_key_reads_enabled = models.BooleanField(
        "API key reads through the API",
        default=False,
        help_text="Tokens with the keys scope may read channels' current API keys (audited).",
    )

    # --- Branding of the signup pages ---
    logo_url = HttpsURLField("logo URL", blank=True)
    primary_colour = models.CharField(max_length=7, default="#128c7e", validators=[hex_colour])
    accent_colour = models.CharField(max_length=7, default="#25d366", validators=[hex_colour])
    headline = models.CharField(max_length=200, blank=True)
    body_text = models.TextField(blank=True)
    support_email = models.EmailField(blank=True)
    terms_url = HttpsURLField("terms URL", blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                name="partner_signing_needs_secret",
                condition=~(Q(io_signature_enabled=True) & Q(platform_secret="")),
                violation_error_message="IO signatures need the platform secret.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @cached_property
    def manager_emails(self) -> list[str]:
        """The addresses of its active managers, sorted: read once per loaded partner (each
        request and task loads its own), so a run mailing about many onboardings asks once."""
        return list(
            get_user_model()
            .objects.filter(
                partner_memberships__partner_id=self.pk,
                partner_memberships__role=PartnerMembership.Role.MANAGER,
                is_active=True,
            )
            .exclude(email="")
            .order_by("email")
            .values_list("email", flat=True)
        )


class TenantModel(models.Model):
    """A row owned by one partner. Its default manager refuses any query outside a tenant scope
    (see portal.tenancy), so reach these rows through `Model.objects` inside a scope, never
    through a reverse accessor on Partner (there is none)."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")

    objects = TenantManager()

    class Meta:
        abstract = True

    def clean(self) -> None:
        """Rows this row points at must belong to the same partner."""
        super().clean()
        errors = {}
        for field in self._meta.concrete_fields:
            related = field.related_model
            if not (field.many_to_one and isinstance(related, type)):
                continue
            related_id = getattr(self, field.attname)
            if not issubclass(related, TenantModel) or related_id is None:
                continue
            owner = (
                related._base_manager.filter(pk=related_id)
                .values_list("partner_id", flat=True)
                .first()
            )
            if owner != self.partner_id:
                errors[field.name] = ValidationError("This belongs to another partner.")
        if errors:
            raise ValidationError(errors)


class PartnerMembership(TimeStampedModel):
    """A staff user's access to one partner in the admin."""

    class Role(models.TextChoices):
        MANAGER = "manager", "Manager"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="partner_memberships"
    )
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.VIEWER)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "partner"], name="membership_unique_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.partner} ({self.get_role_display()})"
