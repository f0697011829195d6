"""The end client's whole path in headless Chromium: the running portal (live server), a real
Celery worker, and the hub simulator on its own origin. Screenshots of the signup, popup and
status pages go to docs/screenshots/ for the README."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect, sync_playwright

from channels.models import ApiKey
from clients.models import Invite, Onboarding
from conftest import ROOT, SIM_PARTNER_ID
from portal.models import Partner
from portal.tenancy import partner_scope
from portal.tokens import token_hash

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("settled_worker")]
SCREENSHOTS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT = 60_000


@pytest.fixture(scope="module")
def chromium():
    # Playwright's sync API keeps an event loop in this thread while it runs, and Django then
    # refuses ORM calls here; allowed for this module only, and only while the browser is up.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Browser):
    context = chromium.new_context(viewport={"width": 1000, "height": 900})
    context.set_default_timeout(TIMEOUT)
    yield context.new_page()
    context.close()


@pytest.fixture
def portal(live_server, settings, connect_partner, hubsim):
    """The partner's portal at the live server, its 360Dialog the simulator."""
    settings.PUBLIC_BASE_URL = live_server.url

    def make(**values):
        partner = connect_partner(
            slug="acme",
            name="Acme Telecom",
            headline="WhatsApp for your shop",
            support_email="help@acme.example",
            **values,
        )
        hubsim.partner(
            partner_id=SIM_PARTNER_ID,
            webhook_url=f"{live_server.url}/webhooks/360dialog/{partner.webhook_token}/",
            require_io_signature=partner.io_signature_enabled,
        )
        return partner

    make.url = live_server.url  # type: ignore[attr-defined]
    return make


def sign_up(page: Page, url: str, *, lang: str = "en") -> None:
    page.goto(f"{url}/p/acme/?lang={lang}")
    page.get_by_label(re.compile("E-mail|E-Mail|e-mail")).fill("ada@example.com")
    page.get_by_label(re.compile("Your name|Ihr Name|O seu nome")).fill("Ada Baker")
    page.get_by_label(re.compile("WhatsApp")).fill("+49 151 12345678")


def onboarding_page_ready(page: Page) -> None:
    page.locator("[data-onboarding][data-ready]").wait_for()


def at_the_hub(popup: Page) -> Page:
    """The popup opens blank, then the launch form is posted into it and redirects."""
    popup.wait_for_url(re.compile(r"/dashboard/app/[^/]+/permissions\?"))
    return popup


def grant(popup: Page) -> None:
    expect(popup.get_by_label("Email")).to_have_value("ada@example.com")
    popup.get_by_role("button", name="Grant permission").click()


def expect_live(page: Page, partner: Partner) -> None:
    expect(page.locator("[data-headline]")).to_have_text(
        re.compile("All done|Fertig"), timeout=TIMEOUT
    )
    expect(page.locator(".channel__label")).to_have_text(re.compile("Live|Connected|Verbunden"))
    with partner_scope(partner):
        assert ApiKey.objects.filter(revoked_at__isnull=True).count() == 1


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def phone_shot(page: Page, name: str) -> None:
    """The same page on a phone's screen (390 x 844), then back to the desktop size."""
    size = page.viewport_size
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, name)
    if size is not None:
        page.set_viewport_size(size)


def test_signup_popup_grant_and_live(page, portal, hubsim):
    partner = portal()
    page.add_init_script(
        "const open = window.open; window.open = function (url, name, features) {"
        " window.openedWith = features; return open.call(window, url, name, features); };"
    )
    sign_up(page, portal.url)
    shot(page, "1-signup")
    phone_shot(page, "1-signup-phone")
    page.get_by_role("button", name="Continue").click()
    onboarding_page_ready(page)

    with page.expect_popup() as opened:
        page.get_by_role("button", name="Connect WhatsApp").click()
    popup = at_the_hub(opened.value)
    assert popup.url.startswith(hubsim.base_url)
    assert page.evaluate("window.openedWith") == "popup=yes,width=600,height=900"
    shot(popup, "2-popup")
    with popup.expect_event("close"):
        grant(popup)

    expect_live(page, partner)
    shot(page, "3-status")
    phone_shot(page, "3-status-phone")
    [channel_id] = [c["id"] for c in hubsim.state()["channels"]]
    assert hubsim.channel(channel_id)["keys_created"] == 1


def test_a_blocked_popup_offers_the_same_tab(page, portal):
    partner = portal()
    page.add_init_script("window.open = function () { return null; };")
    sign_up(page, portal.url)
    page.get_by_role("button", name="Continue").click()
    onboarding_page_ready(page)

    page.get_by_role("button", name="Connect WhatsApp").click()
    blocked = page.get_by_role("alert").filter(has_text="blocked")
    expect(blocked).to_be_visible()
    blocked.get_by_role("button", name="Open 360Dialog in this tab instead").click()
    grant(page)

    # No opener: the return page goes on to the status page by itself.
    expect(page).to_have_url(re.compile(r"/p/acme/o/[0-9a-f-]+/$"))
    expect_live(page, partner)


def test_closing_the_popup_shows_a_way_to_try_again(page, portal):
    partner = portal()
    sign_up(page, portal.url)
    page.get_by_role("button", name="Continue").click()
    onboarding_page_ready(page)

    with page.expect_popup() as opened:
        page.get_by_role("button", name="Connect WhatsApp").click()
    opened.value.close()
    closed = page.get_by_role("alert").filter(has_text="closed before you finished")
    expect(closed).to_be_visible()

    with page.expect_popup() as reopened:
        closed.get_by_role("button", name="Try again").click()
    popup = reopened.value
    with popup.expect_event("close"):
        grant(popup)
    expect_live(page, partner)


def test_direct_payment_with_io_signature(page, portal, hubsim):
    partner = portal(payment_mode=Partner.PaymentMode.DIRECT, io_signature_enabled=True)
    sign_up(page, portal.url)
    page.get_by_role("button", name="Continue").click()
    onboarding_page_ready(page)

    with page.expect_popup() as opened:
        page.get_by_role("button", name="Connect WhatsApp").click()
    popup = at_the_hub(opened.value)
    assert "io_signature=" in popup.url and "io_timestamp=" in popup.url
    with popup.expect_event("close"):
        grant(popup)

    expect_live(page, partner)
    [channel] = hubsim.state()["channels"]
    assert channel["permission"] is True


def test_the_german_page(page, portal, hubsim):
    partner = portal()
    sign_up(page, portal.url, lang="de")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_label("E-Mail-Adresse")).to_have_value("ada@example.com")
    page.get_by_role("button", name="Weiter").click()
    onboarding_page_ready(page)

    with page.expect_popup() as opened:
        page.get_by_role("button", name="WhatsApp verbinden").click()
    popup = at_the_hub(opened.value)
    assert "lang=de" in popup.url
    expect(popup.locator("html")).to_have_attribute("lang", "de")
    with popup.expect_event("close"):
        grant(popup)
    expect_live(page, partner)


def connect_and_grant(page: Page, *, name: str = "Connect WhatsApp") -> None:
    with page.expect_popup() as opened:
        page.get_by_role("button", name=name).click()
    popup = at_the_hub(opened.value)
    with popup.expect_event("close"):
        grant(popup)


def test_a_key_error_is_never_drawn_as_success(page, portal, hubsim):
    portal()
    hubsim.faults(api_errors=[400], api_errors_for="create_api_key")
    sign_up(page, portal.url)
    page.get_by_role("button", name="Continue").click()
    onboarding_page_ready(page)
    connect_and_grant(page)

    expect(page.locator(".channel__label")).to_have_text("Needs attention", timeout=TIMEOUT)
    expect(page.locator("[data-headline]")).to_have_text("Something needs attention.")
    expect(page.locator(".step--done")).to_have_text(
        [re.compile(f"^{label}") for label in ("Registered", "Checked", "Approved", "Switched on")]
    )
    expect(page.locator(".step--failed")).to_have_text(re.compile("^Connected"))
    expect(page.locator(".step--todo")).to_have_text(re.compile("^Live"))
    expect(page.get_by_text("Acme Telecom has been told and will contact you.")).to_be_visible()
    # Back from 360Dialog: connecting is no longer the next step.
    expect(page.get_by_role("button", name="Connect WhatsApp")).to_be_hidden()
    expect(page.get_by_text("opens in a small window")).to_be_hidden()
    shot(page, "4-needs-attention")


def test_polling_stops_after_a_bound_and_check_again_resumes(page, portal, settings):
    partner = portal()
    settings.STATUS_POLL_SECONDS = {"first": 1, "longest": 1, "stop_after": 2}
    sign_up(page, portal.url)
    page.get_by_role("button", name="Continue").click()
    onboarding_page_ready(page)

    check_again = page.get_by_role("button", name="Check again")
    expect(check_again).to_be_visible()
    with partner_scope(partner):
        Onboarding.objects.update(returned_at=timezone.now(), status=Onboarding.Status.RETURNED)
    check_again.click()

    expect(page.locator("[data-headline]")).to_have_text(
        "Thanks! We are waiting for 360Dialog to confirm your number."
    )
    expect(page.get_by_role("button", name="Connect WhatsApp")).to_be_hidden()


def continue_to_the_onboarding_page(page: Page) -> None:
    page.get_by_role("button", name=re.compile("^(Continue|Weiter|Continuar)$")).click()
    onboarding_page_ready(page)


def test_a_number_already_connected_says_so_and_what_to_do(chromium, page, portal):
    partner = portal()
    sign_up(page, portal.url)
    continue_to_the_onboarding_page(page)
    connect_and_grant(page)
    expect_live(page, partner)

    # Days later, on another device, the client signs up again with the same number.
    context = chromium.new_context(viewport={"width": 1000, "height": 900})
    context.set_default_timeout(TIMEOUT)
    again = context.new_page()
    sign_up(again, portal.url)
    continue_to_the_onboarding_page(again)
    connect_and_grant(again)

    expect(again.locator("[data-headline]")).to_have_text("This number is already connected.")
    notice = again.get_by_role("alert").filter(has_text="already connected to Acme Telecom")
    expect(notice).to_contain_text("Acme Telecom has been told and will get in touch.")
    expect(notice.get_by_role("link", name="Sign up with another number")).to_be_visible()
    expect(again.get_by_role("heading", name="Your numbers")).to_be_hidden()
    expect(again.get_by_text("No number connected yet.")).to_be_hidden()
    with partner_scope(partner):
        second = Onboarding.objects.order_by("created_at").last()
        assert second is not None
        assert second.dead_end == Onboarding.DeadEnd.NUMBER_ELSEWHERE
        assert second.client is None
    shot(again, "5-number-elsewhere")
    context.close()


def test_an_invite_whose_return_was_lost_shows_the_live_number(page, portal, hubsim):
    partner = portal()
    token = "invite-token-browser-0001"
    with partner_scope(partner):
        Invite.objects.create(
            partner=partner,
            token_hash=token_hash(token),
            email="ada@example.com",
            contact_name="Ada Baker",
            phone_number="4915112345678",
            partner_payload="CRM-42",
            expires_at=timezone.now() + timedelta(days=1),
        )

    def lose_the_redirect(route):
        # 360Dialog takes the grant, but its redirect back to the portal never arrives.
        if route.request.method != "POST":
            route.continue_()
            return
        answer = route.fetch(max_redirects=0)
        assert answer.status == 302
        route.fulfill(status=200, content_type="text/html", body="<p>Lost on the way</p>")

    page.context.route(re.compile(r"/permissions"), lose_the_redirect)
    page.goto(f"{portal.url}/p/acme/?invite={token}")
    continue_to_the_onboarding_page(page)
    with page.expect_popup() as opened:
        page.get_by_role("button", name="Connect WhatsApp").click()
    popup = at_the_hub(opened.value)
    grant(popup)
    popup.get_by_text("Lost on the way").wait_for()
    popup.close()

    expect_live(page, partner)
    expect(page.get_by_text("closed before you finished")).to_be_hidden()
    with partner_scope(partner):
        [onboarding] = Onboarding.objects.all()
        assert (onboarding.partner_payload, onboarding.status) == ("CRM-42", "live")
        assert onboarding.returned_at is None


def test_another_browser_is_told_why_and_offered_a_way_on(chromium, page, portal):
    portal()
    sign_up(page, portal.url)
    continue_to_the_onboarding_page(page)

    context = chromium.new_context(viewport={"width": 1000, "height": 900})
    other = context.new_page()
    response = other.goto(page.url)

    assert response is not None and response.status == 404
    expect(other.get_by_role("heading", level=1)).to_have_text(
        "This page opens only where you signed up"
    )
    other.get_by_role("link", name="Start again").click()
    expect(other).to_have_url(f"{portal.url}/p/acme/")
    context.close()


def test_back_after_a_form_error_never_resubmits_and_a_second_submit_goes_on(page, portal):
    partner = portal()
    sign_up(page, portal.url)
    page.get_by_label("E-mail address").fill("not-an-email")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert").filter(has_text="valid email")).to_be_visible()
    page.get_by_label("E-mail address").fill("ada@example.com")
    continue_to_the_onboarding_page(page)
    status_page = page.url

    page.go_back()  # a GET: no "Confirm Form Resubmission"
    expect(page).to_have_url(f"{portal.url}/p/acme/?lang=en")
    sign_up(page, portal.url)
    continue_to_the_onboarding_page(page)

    assert page.url == status_page
    with partner_scope(partner):
        assert Onboarding.objects.count() == 1


def test_after_live_add_a_number_and_withdraw_one_on_the_same_onboarding(page, portal, hubsim):
    partner = portal(payment_mode=Partner.PaymentMode.DIRECT)
    sign_up(page, portal.url)
    continue_to_the_onboarding_page(page)
    connect_and_grant(page)
    expect_live(page, partner)

    # Back to 360Dialog's permission page to add a second number.
    with page.expect_popup() as opened:
        page.get_by_role("button", name="Add or remove a number").click()
    popup = at_the_hub(opened.value)
    popup.get_by_label("Add a phone number").fill("+49 151 87654321")
    with popup.expect_event("close"):
        popup.get_by_role("button", name="Grant permission").click()
    expect(page.locator(".channel__label")).to_have_text(["Live", "Live"], timeout=TIMEOUT)
    shot(page, "6-two-numbers")

    # And again, to withdraw the first one: its key goes out of use at once.
    first = page.locator(".channel__number").first.inner_text()
    with page.expect_popup() as opened:
        page.get_by_role("button", name="Add or remove a number").click()
    popup = at_the_hub(opened.value)
    popup.get_by_label(re.compile(r"\+4915112345678")).check()
    popup.get_by_label(re.compile(r"\+4915187654321")).uncheck()
    with popup.expect_event("close"):
        popup.get_by_role("button", name="Withdraw permission").click()

    withdrawn = page.locator(".channel").filter(has_text=first)
    expect(withdrawn.locator(".channel__label")).to_have_text(
        "Permission withdrawn", timeout=TIMEOUT
    )
    with partner_scope(partner):
        assert ApiKey.objects.filter(revoked_at__isnull=True).count() == 1
        assert ApiKey.objects.filter(revoked_reason="permission withdrawn").count() == 1


def test_a_blocked_add_or_remove_popup_says_so_and_offers_the_same_tab(page, portal, hubsim):
    partner = portal()
    sign_up(page, portal.url)
    continue_to_the_onboarding_page(page)
    connect_and_grant(page)
    expect_live(page, partner)

    page.evaluate("window.open = function () { return null; }")  # a blocker, from now on
    page.get_by_role("button", name="Add or remove a number").click()
    blocked = page.get_by_role("alert").filter(has_text="blocked")
    expect(blocked).to_have_text(re.compile(r"Your browser blocked the 360Dialog window\."))
    blocked.get_by_role("button", name="Open 360Dialog in this tab instead").click()
    at_the_hub(page)
    page.get_by_label("Add a phone number").fill("+49 151 87654321")
    page.get_by_role("button", name="Grant permission").click()

    # No opener: the return page goes on to the status page by itself.
    expect(page).to_have_url(re.compile(r"/p/acme/o/[0-9a-f-]+/$"))
    expect(page.locator(".channel__label")).to_have_text(["Live", "Live"], timeout=TIMEOUT)
    with partner_scope(partner):
        assert Onboarding.objects.count() == 1


AXE = Path(__file__).parent / "axe" / "axe.min.js"
AXE_RUN = """() => axe.run(document, {
  runOnly: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
}).then((result) => result.violations
  .filter((violation) => ["serious", "critical"].includes(violation.impact))
  .map((violation) => violation.id + ": "
    + violation.nodes.map((node) => node.target.join(" ")).join(", ")))"""


def axe_violations(page: Page) -> list[str]:
    """Serious and critical WCAG 2.2 AA violations axe-core finds on the page as it is now
    (axe is evaluated through the DevTools protocol, so the page's CSP stays as it is)."""
    page.evaluate(AXE.read_text())
    found: list[str] = page.evaluate(AXE_RUN)
    return found


def test_the_client_pages_have_no_serious_accessibility_violations(chromium, page, portal):
    partner = portal()
    page.set_content('<html lang="en"><title>t</title><main><img src="x.png"></main></html>')
    assert axe_violations(page) == ["image-alt: img"]  # the check sees what it should
    checked = {}
    page.goto(f"{portal.url}/p/acme/?lang=en")
    checked["signup"] = axe_violations(page)
    page.get_by_label("E-mail address").fill("not-an-email")
    page.get_by_role("button", name="Continue").click()
    # After a failed submit, focus is on the first field to correct.
    expect(page.get_by_label("E-mail address")).to_be_focused()
    checked["signup with errors"] = axe_violations(page)
    sign_up(page, portal.url)
    continue_to_the_onboarding_page(page)
    checked["status, before"] = axe_violations(page)
    connect_and_grant(page)
    expect_live(page, partner)
    checked["status, live"] = axe_violations(page)
    page.goto(f"{portal.url}/p/acme/r/no-such-token-0000000000/?client=c1&channels=[a1]")
    checked["error"] = axe_violations(page)
    page.goto(f"{portal.url}/p/acme/no/such/page/")
    checked["not found"] = axe_violations(page)
    page.goto(f"{portal.url}/p/acme/?lang=de")
    checked["German signup"] = axe_violations(page)

    assert checked == {name: [] for name in checked}


def test_the_portuguese_pages_have_no_serious_accessibility_violations(page, portal):
    partner = portal()
    checked = {}
    page.goto(f"{portal.url}/p/acme/?lang=pt")
    expect(page.locator("html")).to_have_attribute("lang", "pt")
    checked["signup"] = axe_violations(page)
    page.get_by_label("Endereço de e-mail").fill("not-an-email")
    page.get_by_role("button", name="Continuar").click()
    expect(page.get_by_label("Endereço de e-mail")).to_be_focused()
    checked["signup with errors"] = axe_violations(page)
    sign_up(page, portal.url, lang="pt")
    continue_to_the_onboarding_page(page)
    expect(page.get_by_role("button", name="Ligar WhatsApp")).to_be_visible()
    checked["status, before"] = axe_violations(page)
    connect_and_grant(page, name="Ligar WhatsApp")
    expect(page.locator("[data-headline]")).to_have_text(
        "Concluído: o seu número de WhatsApp está ligado.", timeout=TIMEOUT
    )
    checked["status, live"] = axe_violations(page)
    page.goto(f"{portal.url}/p/acme/r/no-such-token-0000000000/?client=c1&channels=[a1]&lang=pt")
    expect(page.locator("html")).to_have_attribute("lang", "pt")
    checked["error"] = axe_violations(page)
    page.goto(f"{portal.url}/p/acme/no/such/page/?lang=pt")
    expect(page.locator("html")).to_have_attribute("lang", "pt")
    checked["not found"] = axe_violations(page)

    assert checked == {name: [] for name in checked}
    with partner_scope(partner):
        assert Onboarding.objects.get().lang == "pt"
