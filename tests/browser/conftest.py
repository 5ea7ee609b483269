"""Real Chromium (Debian's /usr/bin/chromium, installed by `make test`) driven by Playwright."""

import shutil

import pytest
from playwright.sync_api import sync_playwright

from tests.desk import fresh_code
from tests.factories import PASSWORD, TOTP_SECRETS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling Google's hosts, which
# this machine's closed network refuses.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium():
    if not shutil.which("chromium"):
        pytest.fail("Chromium is not installed: run `make chromium` (make test does it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    context.set_default_timeout(20_000)
    tab = context.new_page()
    yield tab
    context.close()


def sign_in(page, base: str, username: str) -> None:
    """Sign in through the login form and its two-factor step (a user from make_user)."""
    page.goto(f"{base}/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.fill("#code", fresh_code(TOTP_SECRETS[username]))
    page.click("#code-submit")
