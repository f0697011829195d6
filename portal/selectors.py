"""Reads about partners and who may see them."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.urls import reverse

from portal.models import Partner, PartnerMembership

User = AbstractBaseUser | AnonymousUser


def partner_get_active(*, slug: str) -> Partner | None:
    return Partner.objects.filter(slug=slug, is_active=True).first()


def partner_get_by_webhook_token(*, token: str) -> Partner | None:
    return Partner.objects.filter(webhook_token=token, is_active=True).first()


def partner_ids_for_user(user: User, *, role: str | None = None) -> list[int]:
    """The partners a staff user is a member of (with `role`, only those where they hold it)."""
    if not user.is_authenticated or not user.is_active:
        return []
    memberships = PartnerMembership.objects.filter(user_id=user.pk)
    if role is not None:
        memberships = memberships.filter(role=role)
    return list(memberships.values_list("partner_id", flat=True))


def partners_visible_to(user: User) -> QuerySet[Partner]:
    if getattr(user, "is_superuser", False) and user.is_active:
        return Partner.objects.all()
    return Partner.objects.filter(pk__in=partner_ids_for_user(user))


def partner_webhook_url(partner: Partner) -> str:
    """The URL to enter as the partner webhook URL in 360Dialog's Partner Hub."""
    return f"{settings.PUBLIC_BASE_URL}/webhooks/360dialog/{partner.webhook_token}/"


def partner_signup_url(partner: Partner) -> str:
    return f"{settings.PUBLIC_BASE_URL}{reverse('clients:signup', args=[partner.slug])}"
