from __future__ import annotations

import factory
from django.contrib.auth.models import User

from portal.models import Partner, PartnerMembership


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@staff.example")
    is_staff = True


class PartnerFactory(factory.django.DjangoModelFactory[Partner]):
    class Meta:
        model = Partner

    slug = factory.Sequence(lambda n: f"partner-{n}")
    name = factory.Sequence(lambda n: f"Partner {n}")
    hub_partner_id = factory.Sequence(lambda n: f"p{n:04d}PA")
    payment_mode = Partner.PaymentMode.PARTNER
    api_key = factory.Sequence(lambda n: f"partner-api-key-{n:06d}")


class MembershipFactory(factory.django.DjangoModelFactory[PartnerMembership]):
    class Meta:
        model = PartnerMembership

    user = factory.SubFactory(UserFactory)
    partner = factory.SubFactory(PartnerFactory)
    role = PartnerMembership.Role.MANAGER
