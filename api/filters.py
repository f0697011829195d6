"""Query parameters of the list endpoints. Invalid values answer 400 with the field named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import django_filters as filters
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from channels.lifecycle import KEY_STATUSES
from channels.models import ApiKey, Channel
from clients.models import Client, Invite, Onboarding
from dialog360.io_link import normalize_number

OPEN_STATUSES = (Onboarding.Status.STARTED, Onboarding.Status.OPENED, Onboarding.Status.RETURNED)


class PhoneNumberField(forms.CharField):
    """A number in any format (+49 151 …, 0049…, 49151…), cleaned to 360Dialog's digits."""

    def clean(self, value: Any) -> str:
        value = super().clean(value)
        if not value:
            return ""
        try:
            return normalize_number(value)
        except ValueError:
            raise ValidationError(
                "Enter the number with its country code, e.g. +49 151 12345678."
            ) from None


class PhoneFilter(filters.CharFilter):
    field_class = PhoneNumberField


class UtcDateTimeField(filters.fields.IsoDateTimeField):
    """An ISO 8601 time with its offset, as UTC: PostgreSQL refuses offsets beyond ±15:59,
    and a time that UTC cannot hold (year 1 at +05:00) is no time at all."""

    def clean(self, value: Any) -> datetime | None:
        cleaned: datetime | None = super().clean(value)
        if cleaned is None:
            return None
        try:
            return cleaned.astimezone(UTC)
        except OverflowError:
            raise ValidationError("Enter a time between the years 1 and 9999.") from None


class UtcDateTimeFilter(filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


STEPS = [
    ("started", "Signed up; 360Dialog's popup not opened yet"),
    ("opened", "In 360Dialog's popup"),
    ("returned", "Back from 360Dialog; no number running yet"),
    ("running", "A number is running; no API key yet"),
    ("key", "An API key is stored; not live yet"),
    ("live", "Live"),
    ("failed", "Failed"),
    ("expired", "Expired"),
]


def _step_conditions() -> dict[str, Q]:
    """Where each onboarding is: the furthest step it reached, while it is open."""
    has_key = Exists(
        ApiKey.objects.filter(channel__onboarding=OuterRef("pk"), revoked_at__isnull=True)
    )
    running = Exists(Channel.objects.filter(onboarding=OuterRef("pk"), status__in=KEY_STATUSES))
    is_open = Q(status__in=OPEN_STATUSES)
    return {
        "key": is_open & Q(has_key),
        "running": is_open & ~Q(has_key) & Q(running),
        "returned": is_open & ~Q(has_key) & ~Q(running) & Q(returned_at__isnull=False),
        "opened": is_open
        & ~Q(has_key)
        & ~Q(running)
        & Q(returned_at__isnull=True, opened_at__isnull=False),
        "started": is_open
        & ~Q(has_key)
        & ~Q(running)
        & Q(returned_at__isnull=True, opened_at__isnull=True),
        "live": Q(status=Onboarding.Status.LIVE),
        "failed": Q(status=Onboarding.Status.FAILED),
        "expired": Q(status=Onboarding.Status.EXPIRED),
    }


class OnboardingFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=Onboarding.Status.choices)
    step = filters.MultipleChoiceFilter(
        choices=STEPS,
        method="filter_step",
        label="Where it is now: the furthest step reached (several: any of them).",
    )
    stuck = filters.BooleanFilter(
        method="filter_stuck",
        label=f"Not finished and unchanged for {settings.API_STUCK_AFTER_HOURS:g} hours or more.",
    )
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = UtcDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = UtcDateTimeFilter(field_name="updated_at", lookup_expr="lt")
    crm_reference = filters.CharFilter(field_name="partner_payload")
    email = filters.CharFilter(field_name="email", lookup_expr="iexact")
    phone = PhoneFilter(field_name="phone_number")
    client = filters.CharFilter(field_name="client__hub_client_id", label="360Dialog client id")

    class Meta:
        model = Onboarding
        fields: list[str] = []

    def filter_step(self, queryset: QuerySet[Any], name: str, value: list[str]) -> Any:
        if not value:
            return queryset
        conditions = _step_conditions()
        wanted = Q()
        for step in value:
            wanted |= conditions[step]
        return queryset.filter(wanted)

    def filter_stuck(self, queryset: QuerySet[Any], name: str, value: bool | None) -> Any:
        if value is None:
            return queryset
        since = timezone.now() - timedelta(hours=settings.API_STUCK_AFTER_HOURS)
        stuck = Q(status__in=OPEN_STATUSES, updated_at__lt=since)
        return queryset.filter(stuck if value else ~stuck)


class ClientFilter(filters.FilterSet):
    email = filters.CharFilter(field_name="email", lookup_expr="iexact")
    crm_reference = filters.CharFilter(field_name="partner_payload")
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = UtcDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Client
        fields: list[str] = []


class ChannelFilter(filters.FilterSet):
    status = filters.MultipleChoiceFilter(choices=Channel.Status.choices)
    permission = filters.ChoiceFilter(choices=Channel.Permission.choices)
    phone = PhoneFilter(field_name="phone_number")
    client = filters.CharFilter(field_name="client__hub_client_id", label="360Dialog client id")
    onboarding = filters.UUIDFilter(field_name="onboarding__public_id")
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    updated_after = UtcDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Channel
        fields: list[str] = []


class InviteFilter(filters.FilterSet):
    state = filters.ChoiceFilter(
        choices=[("open", "open"), ("expired", "expired"), ("revoked", "revoked")],
        method="filter_state",
    )
    email = filters.CharFilter(field_name="email", lookup_expr="iexact")
    crm_reference = filters.CharFilter(field_name="partner_payload")

    class Meta:
        model = Invite
        fields: list[str] = []

    def filter_state(self, queryset: QuerySet[Any], name: str, value: str) -> Any:
        now = timezone.now()
        if value == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if value == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        return queryset.filter(revoked_at__isnull=True, expires_at__gt=now)
