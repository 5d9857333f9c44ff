"""Browser journeys: Debian's chromium, driven by Playwright's sync API, against pytest-django's
live server (same process, so ``django.core.mail.outbox`` and the database are the server's)."""

from collections.abc import Generator, Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, ViewportSize, sync_playwright
from pytest_django.live_server_helper import LiveServer

from tests.conftest import require_chromium
from tests.e2e.audit import ARTIFACTS, DESKTOP, PHONE

#: No sandbox (containers run as root), and nothing that reaches Google's servers.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = require_chromium()
    # The sync API keeps an asyncio loop running in this thread, and Django then refuses ORM
    # calls from it. They are safe here: the loop is idle whenever the test's own code runs.
    # Module scope, so that the loop and the permission end with the module.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


_failed = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_failed] = report.failed
    return report


def _is_error(message: ConsoleMessage) -> bool:
    # Browsers ask for /favicon.ico on their own; its 404 says nothing about the page.
    return message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico")


@dataclass
class Devices:
    """The browsers of one test: each ``open`` is a fresh profile (another phone, another
    computer) on the live server, speaking ``language``. Every page is watched for JavaScript
    errors and CSP violations."""

    browser: Browser
    base_url: str
    errors: list[str] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)

    def open(self, *, language: str = "fr", screen: ViewportSize = DESKTOP) -> Page:
        """A new browser; ``screen`` PHONE is a touch phone, anything else a computer."""
        phone = screen == PHONE
        context = self.browser.new_context(
            base_url=self.base_url,
            locale={"fr": "fr-FR", "en": "en-GB"}[language],
            timezone_id="Europe/Paris",
            viewport=screen,
            is_mobile=phone,
            has_touch=phone,
        )
        context.set_default_timeout(10_000)
        page = context.new_page()
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", lambda message: _is_error(message) and self.errors.append(message.text))
        self.pages.append(page)
        return page


@pytest.fixture
def devices(
    browser: Browser,
    live_server: LiveServer,
    transactional_db: None,
    request: pytest.FixtureRequest,
) -> Iterator[Devices]:
    """Fails the test on any JavaScript error or CSP violation in any of its pages; keeps a
    screenshot of each page of a failed test in test-artifacts/."""
    devices = Devices(browser=browser, base_url=live_server.url)
    yield devices
    failed = request.node.stash.get(_failed, False)
    for n, page in enumerate(devices.pages):
        if failed and not page.is_closed():
            ARTIFACTS.mkdir(exist_ok=True)
            suffix = f"-{n}" if n else ""
            page.screenshot(path=ARTIFACTS / f"{request.node.name}{suffix}.png", full_page=True)
        page.context.close()
    assert devices.errors == [], f"errors in the browser: {devices.errors}"


@pytest.fixture
def page(devices: Devices) -> Page:
    """A fresh browser profile in French (the patron's browser speaks French)."""
    return devices.open()
