"""The beacon from a real page: Chromium, under the portal's Content Security Policy, reports
the signup page's view and the blocked popup, and nothing breaks the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from clients.tests.test_browser import (  # noqa: F401 - fixtures
    chromium,
    onboarding_page_ready,
    page,
    portal,
    sign_up,
)
from conftest import wait_for
from console.models import PageEvent
from portal.tenancy import all_partners_scope

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("settled_worker")]


def kinds() -> list[tuple[str, bool]]:
    with all_partners_scope():
        rows = PageEvent.objects.order_by("pk").values_list("kind", "onboarding_id")
        return [(kind, onboarding_id is None) for kind, onboarding_id in rows]


def test_the_pages_report_the_view_and_the_blocked_popup_under_the_csp(page, portal):  # noqa: F811
    portal()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text)
        if "Content Security Policy" in message.text
        else None,
    )
    page.add_init_script("window.open = function () { return null; };")
    sign_up(page, portal.url)
    wait_for(lambda: kinds() == [("signup_viewed", True)], what="the signup page's view")
    page.get_by_role("button", name="Continue").click()
    onboarding_page_ready(page)

    page.get_by_role("button", name="Connect WhatsApp").click()
    expect(page.get_by_role("alert").filter(has_text="blocked")).to_be_visible()

    wait_for(
        lambda: kinds() == [("signup_viewed", True), ("popup_blocked", False)],
        what="the blocked popup's report",
    )
    assert violations == []
