""" "The demo installs as an app in Chromium": Chromium's own installability check finds
nothing missing. It needs a profile on disk: Chromium never offers to install from an
off-the-record profile, which is what Playwright's ordinary browser contexts are."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, sync_playwright
from pytest_django.live_server_helper import LiveServer

from tests.conftest import require_chromium
from tests.e2e.conftest import CHROMIUM_ARGS

pytestmark = pytest.mark.e2e


@pytest.fixture
def profile(
    live_server: LiveServer, transactional_db: None, tmp_path: Path
) -> Iterator[BrowserContext]:
    executable = require_chromium()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            context = playwright.chromium.launch_persistent_context(
                tmp_path / "profile",
                executable_path=executable,
                args=CHROMIUM_ARGS,
                base_url=live_server.url,
                locale="fr-FR",
            )
            context.set_default_timeout(10_000)
            yield context
            context.close()


def test_chromium_finds_the_app_installable(
    profile: BrowserContext, live_server: LiveServer
) -> None:
    page = profile.new_page()
    page.goto("/mes-reservations/")
    page.evaluate("navigator.serviceWorker.ready")
    page.wait_for_function("navigator.serviceWorker.controller !== null")

    cdp = profile.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]

    assert manifest["url"].endswith("/manifest.webmanifest")
    assert manifest["errors"] == []
    assert errors == []
    parsed = manifest["manifest"]  # as Chromium understood it
    assert parsed["startUrl"] == f"{live_server.url}/mes-reservations/?source=pwa"
    assert parsed["display"] == "kStandalone"
