"""Reads about partners and who may see them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django.urls import reverse

from portal.models import Partner, PartnerMembership
from portal.tokens import token_hash, token_shaped

User = AbstractBaseUser | AnonymousUser


def partner_get_active(*, slug: str) -> Partner | None:
    return Partner.objects.filter(slug=slug, is_active=True).first()


_MANAGER = PartnerMembership.Role.MANAGER


@dataclass(frozen=True)
class PartnerAccess:
    """Which partners a signed-in user may see (any role) and manage (role manager)."""

    all_partners: bool
    roles: Mapping[int, str]

    def partner_ids(self, *, managed: bool = False) -> list[int]:
        return [pk for pk, role in self.roles.items() if not managed or role == _MANAGER]

    def may_view(self, partner_id: int | None) -> bool:
        return self.all_partners or partner_id in self.roles

    def may_manage(self, partner_id: int | None) -> bool:
        return self.all_partners or (
            partner_id is not None and self.roles.get(partner_id) == _MANAGER
        )


def partner_access_for(user: User) -> PartnerAccess:
    """Superusers reach every partner; staff the partners they are members of; others none."""
    if not user.is_authenticated or not user.is_active:
        return PartnerAccess(all_partners=False, roles={})
    if getattr(user, "is_superuser", False):
        return PartnerAccess(all_partners=True, roles={})
    if not getattr(user, "is_staff", False):
        return PartnerAccess(all_partners=False, roles={})
    memberships = PartnerMembership.objects.filter(user_id=user.pk).values_list(
        "partner_id", "role"
    )
    return PartnerAccess(all_partners=False, roles=dict(memberships))


def partners_visible(access: PartnerAccess) -> QuerySet[Partner]:
    if access.all_partners:
        return Partner.objects.all()
    return Partner.objects.filter(pk__in=access.partner_ids())


def partner_get(*, slug: str) -> Partner | None:
    return Partner.objects.filter(slug=slug).first()


def partner_for_webhook_token(token: str) -> Partner | None:
    """The active partner whose webhook URL carries `token` (compared by its hash)."""
    if not token_shaped(token):
        return None
    return Partner.objects.filter(webhook_token_hash=token_hash(token), is_active=True).first()


def partner_webhook_url(*, token: str) -> str:
    """The URL to enter as the partner webhook URL in 360Dialog's Partner Hub. Only the token's
    hash is stored: this can be built only when the token is made (partner_webhook_token_rotate)."""
    return f"{settings.PUBLIC_BASE_URL}/webhooks/360dialog/{token}/"


def partner_signup_url(partner: Partner) -> str:
    return f"{settings.PUBLIC_BASE_URL}{reverse('clients:signup', args=[partner.slug])}"
