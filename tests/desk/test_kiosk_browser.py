"""The entrance screen in a real Chromium: at the minute's boundary its script fetches the new
code and swaps it in, without a reload and without a CSP violation."""

from datetime import timedelta

import pytest
import time_machine
from playwright.sync_api import Page
from pytest_django.live_server_helper import LiveServer

from strapontin.core.clock import now
from strapontin.desk import services
from strapontin.venues import codes
from tests.conftest import MONDAY_MORNING
from tests.e2e.conftest import browser, devices, page  # noqa: F401 - fixtures
from tests.factories import EstablishmentFactory, UserFactory

pytestmark = pytest.mark.e2e
SECOND = timedelta(seconds=1)


def test_the_entrance_screen_shows_the_new_code_when_the_minute_turns(
    page: Page,  # noqa: F811
    live_server: LiveServer,
) -> None:
    establishment = EstablishmentFactory(slug="bib-kiosk")
    manager = UserFactory(username="kiosk-manager", is_superuser=True)
    key = services.kiosk_link_issue(establishment=establishment, user=manager)
    # Four seconds before the minute turns; the clock runs (the live server reads it too).
    with time_machine.travel(MONDAY_MORNING - timedelta(seconds=4), tick=True):
        page.goto(f"/kiosk/bib-kiosk/{key}/")
        first = page.inner_text(".kiosk-code")
        assert first == codes.current_rotating_code(establishment, MONDAY_MORNING - SECOND)
        page.wait_for_function(
            "first => document.querySelector('.kiosk-code').textContent !== first",
            arg=first,
            timeout=10_000,
        )
        second = page.inner_text(".kiosk-code")
        assert second == codes.current_rotating_code(establishment, now())
        assert codes.matches(establishment, first, now()) == "rotating"
        assert int(page.get_attribute("[data-kiosk]", "data-seconds-left") or 0) > 50
        assert page.evaluate("performance.getEntriesByType('navigation').length") == 1
