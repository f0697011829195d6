from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth.models import User

from portal.models import Partner, PartnerMembership
from portal.tokens import token_hash, token_new


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@staff.example")
    is_staff = True


class PartnerFactory(factory.django.DjangoModelFactory[Partner]):
    """A partner; `partner.webhook_token` holds its webhook token for the test (the database
    keeps only the hash)."""

    class Meta:
        model = Partner

    slug = factory.Sequence(lambda n: f"partner-{n}")
    name = factory.Sequence(lambda n: f"Partner {n}")
    hub_partner_id = factory.Sequence(lambda n: f"p{n:04d}PA")
    payment_mode = Partner.PaymentMode.PARTNER
    api_key = factory.Sequence(lambda n: f"partner-api-key-{n:06d}")
    webhook_token = factory.LazyFunction(token_new)

    @classmethod
    def _create(cls, model_class: type[Partner], *args: Any, **kwargs: Any) -> Partner:
        token = kwargs.pop("webhook_token")
        partner: Partner = super()._create(
            model_class, *args, webhook_token_hash=token_hash(token), **kwargs
        )
        partner.__dict__["webhook_token"] = token
        return partner


def webhook_token_of(partner: Partner) -> str:
    """The webhook token PartnerFactory made for `partner` (the database has only its hash)."""
    token: str = partner.__dict__["webhook_token"]
    return token


class MembershipFactory(factory.django.DjangoModelFactory[PartnerMembership]):
    class Meta:
        model = PartnerMembership

    user = factory.SubFactory(UserFactory)
    partner = factory.SubFactory(PartnerFactory)
    role = PartnerMembership.Role.MANAGER
