"""A newly flagged stuck onboarding is an `onboarding.stuck` event for the partner's platform,
once per flag, and only for that partner."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from clients.models import Onboarding
from clients.tests.factories import OnboardingFactory
from console.services import stuck_flags_update
from events.models import DomainEvent
from portal.tenancy import partner_scope
from portal.tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def test_a_new_stuck_flag_records_one_onboarding_stuck_event():
    partner, other = PartnerFactory.create(), PartnerFactory.create()
    returned_at = (timezone.now() - timedelta(minutes=31)).replace(microsecond=0)
    onboarding = OnboardingFactory.create(
        partner=partner,
        email="ada@bakery.example",
        status=Onboarding.Status.RETURNED,
        returned_at=returned_at,
        return_data={"client": "cl_ada", "channels": [], "revoked": []},
    )

    with partner_scope(partner):
        stuck_flags_update(partner=partner)
        stuck_flags_update(partner=partner)  # still stuck, for the same reason: no new event
        events = list(DomainEvent.objects.values_list("type", "data"))
    with partner_scope(other):
        stuck_flags_update(partner=other)
        others = DomainEvent.objects.count()

    assert events == [
        (
            "onboarding.stuck",
            {
                "onboarding": {
                    "id": str(onboarding.public_id),
                    "status": "returned",
                    "email": "ada@bakery.example",
                    "crm_reference": "",
                    "client": None,
                },
                "stuck": {
                    "reason": "returned_no_channel",
                    "detail": "client cl_ada",
                    "since": returned_at.isoformat().replace("+00:00", "Z"),
                },
            },
        )
    ]
    assert others == 0
