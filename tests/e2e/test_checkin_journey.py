"""Validating presence in a real Chromium, on the live server's real clock: the patron scans
the entrance QR code with the phone that booked (one tap), or types the establishment code
and the address on /reservation/validate; then "Libérer ma place" from "Mes réservations".

The live server runs in real time, so the reservation is made relative to the real now
(directly in the database: its window is open whatever the hour, and check-in does not
depend on the opening hours). Buttons are found by role and CSS; every page passes axe and
reflows (Journey.step)."""

import re
from datetime import timedelta
from importlib import import_module
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from playwright.sync_api import Page, ViewportSize, expect
from pytest_django.live_server_helper import LiveServer

from strapontin.core.clock import now
from strapontin.public.checkin_views import checkin_url
from strapontin.reservations.models import Patron, Reservation, ReservationState
from strapontin.venues.models import Establishment
from tests.e2e.audit import DESKTOP, PHONE, Journey, screen_name
from tests.e2e.conftest import Devices
from tests.factories import AreaFactory, EstablishmentFactory, ResourceFactory

pytestmark = pytest.mark.e2e


def confirmed_reservation_in_its_window() -> tuple[Establishment, Reservation]:
    """Démo BU, Étage 1 - Place 2: starts in 10 minutes, so its window (15 minutes before
    the start to 30 after) is open now."""
    library = EstablishmentFactory(name="Démo BU", slug="demo-bu")
    floor = AreaFactory(establishment=library, name="Étage 1", position=1)
    place = ResourceFactory(area=floor, label="Place 2", position=2)
    moment = now()
    start = moment.replace(second=0, microsecond=0) + timedelta(minutes=10)
    patron = Patron.objects.create(email="alice@example.org", verified_at=moment)
    reservation = Reservation.objects.create(
        establishment=library,
        resource=place,
        patron=patron,
        start=start,
        end=start + timedelta(hours=1),
        state=ReservationState.CONFIRMED,
        language="fr",
        created_at=moment,
        confirmed_at=moment,
        checkin_opens_at=start - timedelta(minutes=15),
        checkin_closes_at=start + timedelta(minutes=30),
    )
    return library, reservation


def on_live_server(url: str, live_server: LiveServer) -> str:
    """The poster's QR code encodes BASE_URL; the test's server listens elsewhere."""
    server = urlsplit(live_server.url)
    return urlunsplit(urlsplit(url)._replace(scheme=server.scheme, netloc=server.netloc))


def as_the_browser_that_booked(page: Page, live_server: LiveServer, reservation) -> None:
    """What booking from this browser leaves in its session: the reservation's id."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store["reservation_ids"] = [reservation.pk]
    store.save()
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": store.session_key, "url": live_server.url}]
    )


#: What the patron reads, in each language.
WORDS = {
    "fr": {"validated": "Présence validée", "mine": "Mes réservations"},
    "en": {"validated": "Presence validated", "mine": "My reservations"},
}
VARIANTS = [
    pytest.param("fr", PHONE, id="fr-phone"),
    pytest.param("en", DESKTOP, id="en-desktop"),
]


@pytest.mark.parametrize(("language", "screen"), VARIANTS)
def test_scanning_the_qr_code_with_the_phone_that_booked_validates_with_one_tap(
    devices: Devices, live_server: LiveServer, language: str, screen: ViewportSize
) -> None:
    library, reservation = confirmed_reservation_in_its_window()
    phone = devices.open(language=language, screen=screen)
    journey = Journey(f"checkin-qr-{language}-{screen_name(screen)}")
    as_the_browser_that_booked(phone, live_server, reservation)

    phone.goto(on_live_server(checkin_url(library), live_server))

    expect(phone.locator("html")).to_have_attribute("lang", language)
    main = phone.locator("main")
    expect(main).to_contain_text("Démo BU")
    expect(main).to_contain_text("Étage 1 - Place 2")
    expect(main).to_contain_text(reservation.reference)
    expect(main.locator('input[name="email"]')).to_have_count(0)  # nothing to type
    journey.step(phone, "scanned QR code")
    # Opening the scanned link changed nothing: the tap does.
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.CONFIRMED
    main.locator('form[method="post"] button[type="submit"].button-primary').click()

    expect(phone.locator("h1")).to_have_text(WORDS[language]["validated"])
    expect(main.locator('p.lead[role="status"]')).to_be_visible()
    expect(main).to_contain_text(reservation.reference)
    journey.step(phone, "presence validated")
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.CHECKED_IN
    assert reservation.checkin_method == "qr"

    # Leaving before the end: "Libérer ma place" from "Mes réservations".
    phone.locator("header").get_by_role("link", name=WORDS[language]["mine"]).click()
    mine = phone.locator("li.reservation", has_text="Étage 1 - Place 2")
    expect(mine).to_have_count(1)
    journey.step(phone, "my reservations, checked in")
    mine.locator('form[action$="/liberer/"] button[type="submit"]').click()
    expect(phone).to_have_url(re.compile(r"/mes-reservations/$"))
    expect(phone.locator('ul.past .why[data-state="released"]')).to_have_count(1)
    journey.step(phone, "place released")
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.RELEASED


@pytest.mark.parametrize(("language", "screen"), VARIANTS)
def test_another_phone_types_the_code_and_the_address(
    devices: Devices, language: str, screen: ViewportSize
) -> None:
    library, reservation = confirmed_reservation_in_its_window()
    phone = devices.open(language=language, screen=screen)
    journey = Journey(f"checkin-code-{language}-{screen_name(screen)}")

    phone.goto("/reservation/validate")
    journey.step(phone, "check-in page")
    form = phone.locator("main form.booking")
    form.locator('input[name="code"]').fill(library.checkin_code.lower())
    form.locator('input[name="email"]').fill("Alice@Example.org")
    form.locator('button[type="submit"]').click()

    expect(phone.locator("h1")).to_have_text(WORDS[language]["validated"])
    expect(phone.locator("main")).to_contain_text(reservation.reference)
    journey.step(phone, "presence validated")
    reservation.refresh_from_db()
    assert (reservation.state, reservation.checkin_method) == (ReservationState.CHECKED_IN, "code")


def test_a_wrong_code_is_refused_with_an_error_that_passes_axe(devices: Devices) -> None:
    confirmed_reservation_in_its_window()
    page = devices.open()
    journey = Journey("checkin-wrong-code-fr")
    page.goto("/reservation/validate")
    form = page.locator("main form.booking")
    form.locator('input[name="code"]').fill("NOPE42")
    form.locator('input[name="email"]').fill("alice@example.org")
    form.locator('button[type="submit"]').click()
    expect(page.locator('main [role="alert"]')).to_be_visible()
    journey.step(page, "wrong code")
    # The refusal is a 400, as it should be, which Chromium logs as a failed load.
    assert devices.errors == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]
    devices.errors.clear()
