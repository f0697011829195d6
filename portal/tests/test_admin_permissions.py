"""What each role may do in the admin, and that no secret is ever shown there."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client as HttpClient
from django.urls import reverse

from channels.models import Channel
from channels.tests.factories import ApiKeyFactory, ChannelFactory
from clients.models import Client, Onboarding
from clients.tests.factories import ClientFactory, OnboardingFactory
from portal.models import Partner, PartnerMembership
from portal.selectors import partner_for_webhook_token
from portal.tenancy import all_partners_scope
from portal.tests.factories import MembershipFactory, PartnerFactory, UserFactory

API_KEY = "partner-api-key-must-never-show"
PLATFORM_SECRET = "platform-secret-must-never-show"


@pytest.fixture
def partner(db) -> Partner:
    return PartnerFactory.create(
        slug="acme", name="Acme", api_key=API_KEY, platform_secret=PLATFORM_SECRET
    )


def staff(partner: Partner, role: str) -> HttpClient:
    http = HttpClient()
    http.force_login(MembershipFactory.create(partner=partner, role=role).user)
    return http


def partner_form(partner: Partner, **changes: str) -> dict[str, str]:
    data = {
        "name": partner.name,
        "slug": partner.slug,
        "is_active": "on",
        "hub_partner_id": partner.hub_partner_id,
        "payment_mode": partner.payment_mode,
        "hub_url": partner.hub_url,
        "api_base_url": partner.api_base_url,
        "api_key": "",
        "platform_secret": "",
        "io_signature_encoding": partner.io_signature_encoding,
        "default_lang": partner.default_lang,
        "plan_selection": partner.plan_selection,
        "primary_colour": partner.primary_colour,
        "accent_colour": partner.accent_colour,
        "headline": "",
        "body_text": "",
        "logo_url": "",
        "support_email": "",
        "terms_url": "",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


def test_a_viewer_can_look_but_not_change(partner):
    http = staff(partner, PartnerMembership.Role.VIEWER)
    client = ClientFactory.create(partner=partner, name="Old name")
    change_url = reverse("admin:clients_client_change", args=[client.pk])

    assert http.get(change_url).status_code == 200
    response = http.post(change_url, {"partner": partner.pk, "name": "New name"})

    assert response.status_code == 403
    with all_partners_scope():
        assert Client.objects.get(pk=client.pk).name == "Old name"


def test_a_manager_edits_the_signup_page_but_not_the_connection_or_secrets(partner):
    http = staff(partner, PartnerMembership.Role.MANAGER)
    change_url = reverse("admin:portal_partner_change", args=[partner.pk])
    hub_partner_id = partner.hub_partner_id

    response = http.post(
        change_url,
        partner_form(
            partner,
            headline="Connect in two minutes",
            hub_partner_id="stolenPA",
            api_key="attacker-key",
            platform_secret="attacker-secret",
        ),
    )

    assert response.status_code == 302
    partner.refresh_from_db()
    assert partner.headline == "Connect in two minutes"
    assert partner.hub_partner_id == hub_partner_id
    assert (partner.api_key, partner.platform_secret) == (API_KEY, PLATFORM_SECRET)


def test_a_superuser_replaces_a_secret_and_a_blank_field_keeps_it(partner):
    http = HttpClient()
    http.force_login(UserFactory.create(username="root", is_superuser=True))
    change_url = reverse("admin:portal_partner_change", args=[partner.pk])

    response = http.post(change_url, partner_form(partner, api_key="rotated-partner-key"))

    assert response.status_code == 302
    partner.refresh_from_db()
    assert (partner.api_key, partner.platform_secret) == ("rotated-partner-key", PLATFORM_SECRET)


def test_secrets_appear_in_no_admin_page(partner):
    http = HttpClient()
    http.force_login(UserFactory.create(username="root", is_superuser=True))
    api_key = ApiKeyFactory.create(
        channel__client__partner=partner, key="channel-key-never-shown-9z"
    )
    pages = [
        reverse("admin:portal_partner_change", args=[partner.pk]),
        reverse("admin:portal_partner_changelist"),
        reverse("admin:channels_apikey_change", args=[api_key.pk]),
        reverse("admin:channels_apikey_changelist"),
        reverse("admin:channels_channel_change", args=[api_key.channel.pk]),
    ]

    for path in pages:
        html = http.get(path).content.decode()
        assert API_KEY not in html
        assert PLATFORM_SECRET not in html
        assert "channel-key-never-shown-9z" not in html
    key_page = http.get(pages[2]).content.decode()
    assert api_key.last4 == "n-9z"
    assert api_key.last4 in key_page
    assert api_key.fingerprint in key_page
    assert "API key: set; platform secret: set" in http.get(pages[0]).content.decode()


def test_only_superusers_delete_rows_and_add_partners_and_nobody_adds_tenant_rows(partner):
    manager = staff(partner, PartnerMembership.Role.MANAGER)
    root = HttpClient()
    root.force_login(UserFactory.create(username="root", is_superuser=True))
    client = ClientFactory.create(partner=partner)

    assert manager.get(reverse("admin:clients_client_delete", args=[client.pk])).status_code == 403
    assert root.get(reverse("admin:clients_client_delete", args=[client.pk])).status_code == 200
    assert manager.get(reverse("admin:portal_partner_add")).status_code == 403
    assert root.get(reverse("admin:portal_partner_add")).status_code == 200
    assert manager.get(reverse("admin:portal_partnermembership_changelist")).status_code == 403
    for model in ("clients_client", "clients_onboarding", "channels_channel", "channels_apikey"):
        # Rows of a partner come from 360Dialog and the signup flow, not from a form.
        assert manager.get(reverse(f"admin:{model}_add")).status_code == 403
        assert root.get(reverse(f"admin:{model}_add")).status_code == 403


def channel_form(channel: Channel, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "client": channel.client_id,
        "onboarding": "",
        "hub_channel_id": channel.hub_channel_id,
        "status": channel.status,
        "account_mode": "",
        "phone_number": channel.phone_number,
        "phone_name": "",
        "waba_id": "",
        "permission": channel.permission,
        "api_keys-TOTAL_FORMS": "0",
        "api_keys-INITIAL_FORMS": "0",
        "api_keys-MIN_NUM_FORMS": "0",
        "api_keys-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("other_role", ["viewer", "manager", "superuser"])
def test_a_row_cannot_be_linked_to_another_partners_row(partner, other_role):
    other = PartnerFactory.create(slug="other", name="Other")
    foreign_client = ClientFactory.create(partner=other, name="Foreign client")
    channel = ChannelFactory.create(client__partner=partner)
    own_client_id = channel.client_id
    if other_role == "superuser":
        http = HttpClient()
        http.force_login(UserFactory.create(username="root", is_superuser=True))
    else:
        membership = MembershipFactory.create(partner=partner)
        MembershipFactory.create(user=membership.user, partner=other, role=other_role)
        http = HttpClient()
        http.force_login(membership.user)

    response = http.post(
        reverse("admin:channels_channel_change", args=[channel.pk]),
        channel_form(channel, client=foreign_client.pk, phone_name="changed"),
    )

    # A channel's fields are all read-only (360Dialog's record): the post changes nothing.
    assert response.status_code == 302
    with all_partners_scope():
        unchanged = Channel.objects.get(pk=channel.pk)
    assert (unchanged.client_id, unchanged.phone_name) == (own_client_id, "")


def test_a_row_never_moves_to_another_partner(partner):
    other = PartnerFactory.create(slug="other", name="Other")
    membership = MembershipFactory.create(partner=partner)
    MembershipFactory.create(user=membership.user, partner=other)
    http = HttpClient()
    http.force_login(membership.user)
    onboarding = OnboardingFactory.create(partner=partner, contact_name="Stays")

    response = http.post(
        reverse("admin:clients_onboarding_change", args=[onboarding.pk]),
        {
            "partner": other.pk,
            "email": onboarding.email,
            "contact_name": "Renamed",
            "timeline-TOTAL_FORMS": "0",
            "timeline-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    with all_partners_scope():
        moved = Onboarding.objects.get(pk=onboarding.pk)
    assert (moved.partner_id, moved.contact_name) == (partner.pk, "Renamed")


def test_memberships_stay_with_superusers_whatever_model_permissions_staff_hold(partner):
    membership = MembershipFactory.create(partner=partner)
    membership.user.user_permissions.add(
        *Permission.objects.filter(codename__endswith="_partnermembership")
    )
    http = HttpClient()
    http.force_login(membership.user)
    newcomer = UserFactory.create(username="newcomer")

    response = http.post(
        reverse("admin:portal_partner_change", args=[partner.pk]),
        partner_form(
            partner,
            **{
                "memberships-TOTAL_FORMS": "1",
                "memberships-0-user": str(newcomer.pk),
                "memberships-0-role": "manager",
            },
        ),
    )

    assert response.status_code == 302
    assert list(PartnerMembership.objects.values_list("user__username", flat=True)) == [
        membership.user.username
    ]
    assert http.get(reverse("admin:portal_partnermembership_changelist")).status_code == 403


def test_the_webhook_url_is_shown_to_nobody_after_it_was_made(partner):
    change_url = reverse("admin:portal_partner_change", args=[partner.pk])

    for role in PartnerMembership.Role:
        page = staff(partner, role).get(change_url).content.decode()
        assert partner.webhook_token not in page
        assert partner.webhook_token_hash not in page
        assert "Shown once, when the partner is added or its webhook token rotated" in page


def rotate(http: HttpClient, partner: Partner, **extra: str):
    return http.post(
        reverse("admin:portal_partner_changelist"),
        {"action": "rotate_webhook_token", "_selected_action": [str(partner.pk)], **extra},
    )


def test_a_manager_rotates_the_webhook_token_and_sees_the_new_url_once(partner):
    http = staff(partner, PartnerMembership.Role.MANAGER)

    confirm = rotate(http, partner)
    assert confirm.status_code == 200
    assert "Its old URL" in confirm.content.decode()
    assert partner_for_webhook_token(partner.webhook_token) == partner  # nothing changed yet

    shown = rotate(http, partner, confirm="yes")

    assert shown.status_code == 200
    assert "no-store" in shown["Cache-Control"]
    [url] = re.findall(r'<code class="webhook-url">([^<]+)</code>', shown.content.decode())
    token = url.removeprefix("https://portal.test/webhooks/360dialog/").rstrip("/")
    assert url == f"https://portal.test/webhooks/360dialog/{token}/"
    assert partner_for_webhook_token(token) == partner
    assert partner_for_webhook_token(partner.webhook_token) is None
    page = http.get(reverse("admin:portal_partner_change", args=[partner.pk])).content.decode()
    assert token not in page


def test_a_viewer_cannot_rotate_the_webhook_token(partner):
    http = staff(partner, PartnerMembership.Role.VIEWER)

    response = rotate(http, partner, confirm="yes")

    assert "webhook-url" not in response.content.decode()
    assert partner_for_webhook_token(partner.webhook_token) == partner


def test_a_superuser_adding_a_partner_sees_its_webhook_url_once(db):
    admin_user = UserFactory.create(is_superuser=True)
    http = HttpClient()
    http.force_login(admin_user)
    form = partner_form(
        Partner(
            name="Newco",
            slug="newco",
            hub_partner_id="newcoPA",
            payment_mode="partner",
            hub_url="https://hub.360dialog.com",
            api_base_url="https://hub.360dialog.io/api/v2",
        )
    )

    response = http.post(reverse("admin:portal_partner_add"), form)

    assert response.status_code == 200, response.content.decode()[-3000:]
    [url] = re.findall(r'<code class="webhook-url">([^<]+)</code>', response.content.decode())
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert partner_for_webhook_token(token) == Partner.objects.get(slug="newco")
