"""An account manager's walk through the console in headless Chromium: the running portal (live
server), a real Celery worker and the hub simulator. The home page shows the funnel and the
onboarding the simulator's fault made stuck; a national-format number finds it; retry gives the
number its one key; rotate replaces it (the old one revoked at the simulator); the audit log
shows both. A viewer sees the same and can do nothing. Screenshots of the home page, the
onboarding's story and the audit log go to docs/screenshots/ for the README."""

from __future__ import annotations

import os
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client as HttpClient
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect, sync_playwright

from audit.models import AuditEntry
from channels.models import ApiKey, Channel
from channels.provisioning import Outcome, channel_api_key_provision
from channels.tests.factories import ChannelFactory
from clients.models import Onboarding
from clients.tests.factories import ClientFactory, OnboardingFactory
from clients.tests.test_browser import CHROMIUM_ARGS, SCREENSHOTS, TIMEOUT
from conftest import SIM_PARTNER_ID, wait_for
from console.services import stuck_flags_update
from portal.models import PartnerMembership
from portal.tenancy import partner_scope
from portal.tests.factories import MembershipFactory

pytestmark = [
    pytest.mark.integration,
    pytest.mark.usefixtures("settled_worker"),
    # The Partner API calls made here are recorded on their own connection.
    pytest.mark.django_db(transaction=True, databases=["default", "partner_api_calls"]),
]
NUMBER = "4915112345678"


@pytest.fixture(scope="module")
def chromium():
    # Playwright's sync API keeps an event loop in this thread; Django then refuses ORM calls
    # here unless told otherwise (this module only, while the browser is up).
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def signed_in(chromium: Browser, url: str, user: User) -> Page:
    """A desktop-sized browser with the user's admin session."""
    http = HttpClient()
    http.force_login(user)
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT)
    context.add_cookies(
        [{"name": "sessionid", "value": http.cookies["sessionid"].value, "url": url}]
    )
    return context.new_page()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def stuck_onboarding(live_server, settings, connect_partner, hubsim):
    """A number live at the simulator whose key creation failed for good (the simulator
    answered 400 once), flagged stuck by the check; plus a few ordinary onboardings."""
    settings.PUBLIC_BASE_URL = live_server.url
    partner = connect_partner(slug="acme", name="Acme Telecom")
    onboarded = hubsim.onboard(
        partner_id=SIM_PARTNER_ID, email="ada@bakery.example", numbers=[NUMBER]
    )
    hubsim.wait_idle()
    client = ClientFactory.create(
        partner=partner, hub_client_id=onboarded["client_id"], name="Ada's Bakery"
    )
    onboarding = OnboardingFactory.create(
        partner=partner,
        client=client,
        email="ada@bakery.example",
        contact_name="Ada Baker",
        phone_number=NUMBER,
        status=Onboarding.Status.RETURNED,
        opened_at=timezone.now(),
        returned_at=timezone.now(),
        return_data={"client": onboarded["client_id"], "channels": onboarded["channel_ids"]},
    )
    channel = ChannelFactory.create(
        client=client,
        onboarding=onboarding,
        hub_channel_id=onboarded["channel_ids"][0],
        phone_number=NUMBER,
        status=Channel.Status.RUNNING,
        status_changed_at=timezone.now(),
    )
    for n in range(3):
        OnboardingFactory.create(partner=partner, email=f"visitor{n}@shop.example")
    hubsim.faults(api_errors=[400], api_errors_for="create_api_key")
    with partner_scope(partner):
        assert channel_api_key_provision(partner=partner, channel_id=channel.pk) == Outcome.FAILED
        stuck_flags_update(partner=partner)
    return partner, onboarding, channel


def test_a_manager_finds_the_stuck_onboarding_retries_rotates_and_reads_the_audit_log(
    chromium, live_server, hubsim, stuck_onboarding
):
    partner, _onboarding, channel = stuck_onboarding
    manager = MembershipFactory.create(
        partner=partner, role=PartnerMembership.Role.MANAGER, user__username="mia"
    ).user
    page = signed_in(chromium, live_server.url, manager)

    # Home: the funnel and the stuck onboarding.
    page.goto(f"{live_server.url}/admin/")
    expect(page.locator('[data-step="started"] td').first).to_have_text("4")
    stuck = page.locator("[data-stuck-list]")
    expect(stuck).to_contain_text("ada@bakery.example")
    expect(stuck).to_contain_text("API key could not be created")
    expect(page.locator("[data-api-errors]")).to_contain_text("1 Partner API error(s) in 24 h")
    shot(page, "console-1-home")

    # Search by the number as a German customer would say it.
    page.goto(f"{live_server.url}/admin/clients/onboarding/")
    page.locator("#searchbar").fill("0151 1234 5678")
    page.locator("#searchbar").press("Enter")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    page.locator("#result_list tbody tr th a").click()

    # Retry after the final error: the worker gives the number its one key.
    page.locator('[data-action="retry"]').click()
    expect(page.locator("#content-main")).to_contain_text("failed for good")
    page.get_by_role("button", name="Retry now").click()
    expect(page.locator(".messagelist")).to_contain_text("queued")

    def stored_key() -> ApiKey | None:
        with partner_scope(partner):
            return ApiKey.objects.filter(channel=channel, revoked_at__isnull=True).first()

    first = wait_for(stored_key, timeout=60, what="the retried key")
    page.reload()
    expect(page.locator("[data-current-key]")).to_have_text(f"…{first.last4} · {first.fingerprint}")

    # Rotate: the confirmation says what happens; the old key is revoked at the simulator.
    page.locator('[data-action="rotate"]').click()
    expect(page.locator("#content-main")).to_contain_text("The old key stops working at once")
    page.get_by_role("button", name="Rotate the key").click()
    expect(page.locator(".messagelist")).to_contain_text("rotated")
    with partner_scope(partner):
        keys = list(ApiKey.objects.filter(channel=channel).order_by("created_at"))
    assert [key.revoked_reason for key in keys] == ["rotated by mia", ""]
    at_hub = hubsim.channel(channel.hub_channel_id)
    assert at_hub["keys_created"] == 2
    assert at_hub["current_key"]["fingerprint"] == keys[1].fingerprint
    assert [key["revoked"] for key in at_hub["keys"]] == [True, False]
    expect(page.locator("[data-current-key]")).to_have_text(
        f"…{keys[1].last4} · {keys[1].fingerprint}"
    )
    expect(page.locator("[data-timeline]")).to_contain_text(
        "mia: API key of +4915112345678 rotated"
    )
    errors = page.locator(".console-timeline__item--api_error")
    expect(errors).to_have_count(1)
    expect(errors).to_contain_text("create_api_key for +4915112345678: 400 in")
    expect(errors).to_contain_text("Simulated error 400")
    shot(page, "console-2-story")

    # The audit log shows both actions.
    page.goto(f"{live_server.url}/admin/audit/auditentry/")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("api_key.rotate")
    expect(rows.nth(1)).to_contain_text("api_key.retry")
    shot(page, "console-3-audit-log")
    page.context.close()
    with partner_scope(partner):
        assert list(AuditEntry.objects.order_by("pk").values_list("action", "outcome")) == [
            ("api_key.retry", "ok"),
            ("api_key.rotate", "ok"),
        ]


def test_a_viewer_sees_everything_and_can_do_nothing(
    chromium, live_server, hubsim, stuck_onboarding
):
    partner, onboarding, channel = stuck_onboarding
    viewer = MembershipFactory.create(
        partner=partner, role=PartnerMembership.Role.VIEWER, user__username="vic"
    ).user
    page = signed_in(chromium, live_server.url, viewer)

    page.goto(f"{live_server.url}/admin/")
    expect(page.locator("[data-stuck-list]")).to_contain_text("ada@bakery.example")
    page.goto(f"{live_server.url}/admin/clients/onboarding/{onboarding.pk}/change/")
    expect(page.locator("[data-story]")).to_contain_text("only the partner's managers can act")
    expect(page.locator("[data-action]")).to_have_count(0)
    refused = page.goto(f"{live_server.url}/admin/console/channel/{channel.pk}/retry/")
    assert refused is not None
    assert refused.status == 403
    page.context.close()
    with partner_scope(partner):
        channel.refresh_from_db()
        assert re.match(r"create_api_key", channel.api_key_error)
