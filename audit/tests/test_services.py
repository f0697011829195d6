"""The audit log records who did what, scoped to the partner."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from audit.models import AuditEntry
from audit.services import audit_record
from portal.tenancy import partner_scope
from portal.tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def test_an_entry_names_the_staff_user_and_stays_with_its_partner():
    acme, other = PartnerFactory.create(), PartnerFactory.create()
    manager = get_user_model().objects.create_user("mia", password="x")

    with partner_scope(acme):
        entry = audit_record(
            partner=acme,
            action="api_key.reveal",
            user=manager,
            target_type="channel",
            target_id=42,
            target_label="+4915112345678",
            reason="customer lost it",
            ip="192.0.2.7",
        )
    with partner_scope(other):
        seen_by_other = list(AuditEntry.objects.all())
    with partner_scope(acme):
        [stored] = AuditEntry.objects.all()

    assert seen_by_other == []
    assert stored == entry
    assert (stored.actor, stored.user, stored.action, stored.target_id, stored.outcome) == (
        "mia",
        manager,
        "api_key.reveal",
        "42",
        "ok",
    )
    assert (stored.reason, stored.ip) == ("customer lost it", "192.0.2.7")


def test_an_api_token_acts_under_its_own_name():
    acme = PartnerFactory.create()

    with partner_scope(acme):
        entry = audit_record(
            partner=acme, action="api_key.read", actor="token billing (pp_ab12)", outcome="refused"
        )

    assert (entry.user, entry.actor, entry.outcome) == (None, "token billing (pp_ab12)", "refused")
