"""The front desk in a real Chromium at tablet width (800 px): nothing wider than the screen, the
30-second htmx refresh replaces the list, but never while the agent is typing a reason in it;
a refused walk-in booking comes back with what was typed."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from tests.conftest import MONDAY_MORNING
from tests.desk.conftest import book_confirmed
from tests.e2e.conftest import browser  # noqa: F401 - fixture
from tests.factories import ResourceFactory, StaffRoleFactory

pytestmark = pytest.mark.e2e
TABLET = {"width": 800, "height": 1100}


@pytest.fixture
def desk(live_server: LiveServer, transactional_db: None):
    """A desk agent of "Bib Tablette", with a reservation in its check-in window (10:00, the
    clock at 09:50) and one later in the day."""
    with time_machine.travel(MONDAY_MORNING + timedelta(minutes=50), tick=True):
        place = ResourceFactory(
            area__establishment__slug="bib-tablette", area__establishment__name="Bib Tablette"
        )
        other = ResourceFactory(area=place.area)
        book_confirmed(place, "arrive@example.org")
        book_confirmed(
            other,
            "plus-tard-avec-une-adresse-longue@example.org",
            start=MONDAY_MORNING + timedelta(hours=6),
        )
        user = StaffRoleFactory(establishment=place.establishment, role="desk").user
        user.set_password("motdepasse-accueil")
        user.save()
        yield user


@pytest.fixture
def tablet(browser: Browser, live_server: LiveServer) -> Iterator[Page]:  # noqa: F811
    """A French browser 800 px wide. Fails the test on any JavaScript error or CSP violation;
    the refused walk-in's answer is a 400 on purpose, which Chromium logs as a failed load."""
    context = browser.new_context(
        base_url=live_server.url, locale="fr-FR", timezone_id="Europe/Paris", viewport=TABLET
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on(
        "console",
        lambda message: (
            message.type == "error"
            and "status of 400" not in message.text
            and not message.location.get("url", "").endswith("/favicon.ico")
            and errors.append(message.text)
        ),
    )
    yield tab
    context.close()
    assert errors == [], f"errors in the browser: {errors}"


def sign_in(tab: Page, username: str) -> None:
    tab.goto("/desk/")
    tab.fill("#id_username", username)
    tab.fill("#id_password", "motdepasse-accueil")
    tab.click("input[type=submit]")
    tab.wait_for_url("**/desk/")


def overflow(tab: Page) -> int:
    return tab.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_the_desk_fits_a_tablet_and_a_refused_walk_in_keeps_what_was_typed(
    tablet: Page,
    desk,
) -> None:
    page = tablet
    with time_machine.travel(MONDAY_MORNING + timedelta(minutes=50), tick=True):
        sign_in(page, desk.username)
        page.goto("/desk/bib-tablette/")
        assert overflow(page) <= 0
        page.click("#walk-in summary")
        assert overflow(page) <= 0
        page.select_option("#id_resource", index=1)
        page.fill("#id_email", "pas-une-adresse")
        page.click("#walk-in button[type=submit]")
        expect(page.locator("[data-focus-on-load]")).to_be_focused()
        assert page.input_value("#id_email") == "pas-une-adresse"
        assert page.locator("#id_email_error").is_visible()
        page.goto("/desk/bib-tablette/?vue=frise")
        assert page.locator(".desk-timeline table").is_visible()
        assert overflow(page) <= 0


def test_the_refresh_waits_while_a_reason_is_being_typed(
    tablet: Page,
    desk,
) -> None:
    page = tablet
    refreshes: list[str] = []
    page.on(
        "request",
        lambda request: request.headers.get("hx-request") and refreshes.append(request.url),
    )
    with time_machine.travel(MONDAY_MORNING + timedelta(minutes=50), tick=True):
        page.clock.install()
        sign_in(page, desk.username)
        page.goto("/desk/bib-tablette/")
        page.locator("#desk-live").evaluate("live => live.dataset.first = 'yes'")

        # The agent opens a cancellation and starts typing, then looks elsewhere.
        page.locator("details.desk-cancel summary").first.click()
        reason = page.locator("details.desk-cancel[open] input[name=reason]").first
        reason.fill("fuite d'ea")
        page.locator("h1").click()
        page.clock.run_for(95_000)  # three refresh periods
        assert refreshes == []
        assert reason.input_value() == "fuite d'ea"

        # Once the form is closed again and the agent is done, the next period refreshes.
        page.locator("details.desk-cancel[open] summary").first.click()
        page.clock.run_for(31_000)
        assert refreshes == []  # the focus is still in the list (on that summary)
        page.locator("h1").click()
        page.clock.run_for(31_000)
        expect(page.locator("#desk-live")).not_to_have_attribute("data-first", "yes")
        assert len(refreshes) == 1
        assert refreshes[0].endswith("/desk/bib-tablette/")
        assert page.locator(".desk-counts").is_visible()
