"""The API's docs pages in headless Chromium, under the portal's Content-Security-Policy: they
render the schema from our own static files, and the browser reports no CSP violation."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT = 60_000
# Collected before any script of the page runs (init scripts are outside the page's CSP).
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Browser) -> Iterator[tuple[Page, list[str]]]:
    context = chromium.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(TIMEOUT)
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    yield page, console
    context.close()


def script_src(policy: str) -> str:
    return next(d.strip() for d in policy.split(";") if d.strip().startswith("script-src"))


def csp_reports(page: Page, console: list[str]) -> list[str]:
    violations: list[str] = page.evaluate("window.__cspViolations")
    return violations + [line for line in console if "Content Security Policy" in line]


@pytest.mark.django_db
def test_swagger_ui_renders_the_schema_under_our_csp(live_server: Any, page: Any) -> None:
    browser_page, console = page

    response = browser_page.goto(f"{live_server.url}/api/v1/docs/")

    assert response.status == 200
    assert script_src(response.headers["content-security-policy"]) == "script-src 'self'"
    expect(browser_page.locator(".swagger-ui .info .title")).to_contain_text("Partner portal API")
    expect(browser_page.locator(".opblock-summary-path").first).to_be_visible()
    paths = browser_page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/channels/{id}/api-key" in [p.replace("\u200b", "") for p in paths]
    assert csp_reports(browser_page, console) == []


@pytest.mark.django_db
def test_redoc_renders_the_schema_under_our_csp(live_server: Any, page: Any) -> None:
    browser_page, console = page

    response = browser_page.goto(f"{live_server.url}/api/v1/redoc/")

    assert response.status == 200
    expect(browser_page.locator("h1").first).to_contain_text("Partner portal API")
    expect(browser_page.get_by_text("/api/v1/channels/{id}/api-key").first).to_be_attached()
    assert csp_reports(browser_page, console) == []
