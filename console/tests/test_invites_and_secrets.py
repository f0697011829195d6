"""Invites show whether and when each was used and can be sent by e-mail (a fresh link, the
old one dead; audited); secret replacements and membership changes are in the audit log, with
no value. Each partner's own; viewers act on nothing."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from clients.models import Invite, Onboarding
from clients.selectors import invite_get_valid
from clients.tests.test_invite_admin import ADD, form
from portal.models import PartnerMembership
from portal.tenancy import all_partners_scope
from portal.tests.factories import MembershipFactory, PartnerFactory, UserFactory
from portal.tests.test_admin_permissions import partner_form

pytestmark = pytest.mark.django_db
LIST = "/admin/clients/invite/"


@pytest.fixture
def alpha():
    return PartnerFactory.create(slug="alpha", name="Alpha Hub")


@pytest.fixture
def bravo():
    return PartnerFactory.create(slug="bravo", name="Bravo Hub")


def staff(partner, role=PartnerMembership.Role.MANAGER, username="mia") -> HttpClient:
    http = HttpClient()
    membership = MembershipFactory.create(partner=partner, role=role, user__username=username)
    http.force_login(membership.user)
    return http


def made(http, partner, **values) -> tuple[Invite, str]:
    """An invite made through the admin, and the link it showed once."""
    response = http.post(ADD, form(partner, **values))
    [link] = re.findall(r'<code class="invite-link">([^<]+)</code>', response.content.decode())
    with all_partners_scope():
        invite = Invite.objects.order_by("-pk").first()
    assert invite is not None
    return invite, link.removeprefix("https://portal.test")


def audited():
    with all_partners_scope():
        return list(
            AuditEntry.objects.order_by("pk").values_list(
                "partner__slug", "action", "actor", "target_label", "outcome", "data"
            )
        )


def test_the_invite_list_shows_when_each_invite_was_used_and_by_which_onboarding(alpha, bravo):
    http = staff(alpha)
    used, link = made(http, alpha, email="bea@example.com")
    made(http, alpha, email="cem@example.com")
    made(staff(bravo, username="bob"), bravo, email="dan@example.com")
    HttpClient().post(link, {"email": "bea@example.com", "invite": link.rsplit("=", 1)[1]})
    with all_partners_scope():
        onboarding = Onboarding.objects.get(email="bea@example.com")
        used_at = onboarding.timeline.get(kind="created").created_at

    html = http.get(LIST).content.decode()

    when = f"{timezone.localtime(used_at):%Y-%m-%d %H:%M}"
    onboarding_url = reverse("admin:clients_onboarding_change", args=[onboarding.pk])
    assert f'<a href="{onboarding_url}">{when}</a>' in html
    assert html.count("not yet") == 1
    assert "dan@example.com" not in html
    page = http.get(reverse("admin:clients_invite_change", args=[used.pk])).content.decode()
    assert onboarding_url in page


def test_sending_an_invite_makes_a_fresh_link_kills_the_old_one_and_is_audited(alpha):
    http = staff(alpha)
    invite, old_link = made(http, alpha, email="bea@example.com", contact_name="Bea")
    url = reverse("console:invite_action", args=[invite.pk, "send"])

    confirm = http.get(url).content.decode()
    response = http.post(url)

    assert "shown only once, when it was made, so sending it makes a fresh link" in confirm
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.to == ["bea@example.com"]
    assert message.from_email.startswith("Alpha Hub <")
    [new_link] = re.findall(r"https://portal\.test(/p/alpha/\?invite=\S+)", str(message.body))
    with all_partners_scope():
        assert invite_get_valid(old_link.rsplit("=", 1)[1]) is None
        assert invite_get_valid(new_link.rsplit("=", 1)[1]) == invite
    assert new_link not in str(audited())
    assert audited()[-1] == (
        "alpha",
        "invite.send",
        "mia",
        "bea@example.com",
        "ok",
        {"to": "bea@example.com"},
    )


def test_an_invite_without_an_address_is_not_sent_and_its_link_stays(alpha):
    http = staff(alpha)
    invite, link = made(http, alpha, email="")

    http.post(reverse("console:invite_action", args=[invite.pk, "send"]))

    assert mail.outbox == []
    with all_partners_scope():
        assert invite_get_valid(link.rsplit("=", 1)[1]) == invite
    assert audited()[-1][1:5] == ("invite.send", "mia", str(invite), "failed")


def test_a_viewer_cannot_send_and_another_partners_invite_is_not_there(alpha, bravo):
    invite, _ = made(staff(alpha), alpha, email="bea@example.com")
    viewer = staff(alpha, PartnerMembership.Role.VIEWER, "vic")
    other = staff(bravo, username="bob")
    url = reverse("console:invite_action", args=[invite.pk, "send"])

    assert viewer.get(url).status_code == 403
    assert viewer.post(url).status_code == 403
    assert other.post(url).status_code == 404
    assert mail.outbox == []
    assert audited()[-1][1:5] == ("invite.send", "vic", "bea@example.com", "refused")


def test_replacing_a_secret_is_audited_without_its_value(alpha):
    root = UserFactory.create(username="root", is_superuser=True)
    http = HttpClient()
    http.force_login(root)
    url = reverse("admin:portal_partner_change", args=[alpha.pk])

    http.post(url, partner_form(alpha))  # blank: kept, nothing to audit
    http.post(url, partner_form(alpha, api_key="new-partner-key", platform_secret="new-secret"))

    entries = audited()
    assert entries == [
        (
            "alpha",
            "partner.secret_replace",
            "root",
            "Alpha Hub: Partner API key",
            "ok",
            {"field": "api_key"},
        ),
        (
            "alpha",
            "partner.secret_replace",
            "root",
            "Alpha Hub: platform secret",
            "ok",
            {"field": "platform_secret"},
        ),
    ]
    assert "new-partner-key" not in str(entries)


def test_membership_changes_are_audited(alpha):
    root = UserFactory.create(username="root", is_superuser=True)
    ada = UserFactory.create(username="ada", is_staff=True)
    http = HttpClient()
    http.force_login(root)

    http.post(
        reverse("admin:portal_partnermembership_add"),
        {"user": ada.pk, "partner": alpha.pk, "role": PartnerMembership.Role.VIEWER},
    )
    membership = PartnerMembership.objects.get(user=ada)
    http.post(
        reverse("admin:portal_partnermembership_change", args=[membership.pk]),
        {"user": ada.pk, "partner": alpha.pk, "role": PartnerMembership.Role.MANAGER},
    )
    http.post(
        reverse("admin:portal_partnermembership_delete", args=[membership.pk]), {"post": "yes"}
    )

    assert [(*entry[1:4], entry[5]) for entry in audited()] == [
        ("membership.add", "root", "ada", {"role": "viewer"}),
        ("membership.change", "root", "ada", {"role": "manager", "was": "viewer"}),
        ("membership.remove", "root", "ada", {"role": "manager"}),
    ]
    assert PartnerMembership.objects.filter(user=ada).exists() is False
