"""The pages outside the journeys pass the same audit (axe WCAG 2.1 A/AA, reflow at 320 and
640 CSS px): help, offline page, accessibility statement, a 404; and the staff's other pages
(timeline, poster, statistics, journal, management, the entrance screen)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.mail import EmailMessage
from playwright.sync_api import expect
from pytest_django.live_server_helper import LiveServer

from strapontin.desk.services import kiosk_link_issue
from strapontin.reservations import services
from tests.conftest import MONDAY_MORNING, paris
from tests.e2e.audit import DESKTOP, PHONE, Journey
from tests.e2e.conftest import Devices
from tests.e2e.test_staff_journeys import demo_library, signed_in
from tests.factories import StaffRoleFactory

pytestmark = pytest.mark.e2e


def test_help_offline_statement_and_missing_pages(devices: Devices) -> None:
    demo_library()
    page = devices.open(language="fr", screen=PHONE)
    journey = Journey("other-pages-fr-phone")
    for path, label in [
        ("/demo-bu/aide/", "help"),
        ("/hors-ligne/", "offline"),
        ("/accessibilite/", "accessibility statement"),
    ]:
        page.goto(path)
        journey.step(page, label)
    expect(page.locator("h1")).to_have_text("Déclaration d'accessibilité")
    expect(page.locator("article.statement")).to_have_attribute("lang", "fr")

    page.goto("/")
    footer = page.locator("footer")
    footer.get_by_role("link", name=re.compile(r"^Accessibilité\s:\snon conforme$")).click()
    expect(page).to_have_url(f"{devices.base_url}/accessibilite/")

    response = page.goto("/nulle-part/")
    assert response is not None
    assert response.status == 404
    journey.step(page, "page not found")
    assert devices.errors == [
        "Failed to load resource: the server responded with a status of 404 (Not Found)"
    ]
    devices.errors.clear()


def test_the_staff_pages_outside_the_journeys(
    devices: Devices, live_server: LiveServer, mailoutbox: list[EmailMessage]
) -> None:
    with time_machine.travel(MONDAY_MORNING + timedelta(minutes=50), tick=True):
        library, places = demo_library()
        manager = StaffRoleFactory(establishment=library, role="manager").user
        for n, place in enumerate(places):
            services.reservation_create(
                resource=place,
                email=f"patron{n}@example.org",
                start=paris(2026, 3, 2, 10 + n, 0),
                end=paris(2026, 3, 2, 11 + n, 0),
            )
        office = devices.open(language="en", screen=DESKTOP)
        signed_in(office, manager, live_server)
        journey = Journey("staff-pages-en-desktop")
        for path, label in [
            ("/desk/", "front desk"),
            ("/desk/demo-bu/?vue=frise", "timeline"),
            ("/desk/demo-bu/affiche/", "poster"),
            ("/desk/demo-bu/statistiques/", "statistics"),
            ("/desk/demo-bu/journal/", "journal"),
            ("/desk/demo-bu/gestion/", "management"),
        ]:
            office.goto(path)
            journey.step(office, label)

        # The entrance screen opens a secret link, without signing in.
        key = kiosk_link_issue(establishment=library, user=manager)
        screen = devices.open(language="fr", screen=DESKTOP)
        screen.goto(f"/kiosk/demo-bu/{key}/")
        journey.step(screen, "entrance screen")
