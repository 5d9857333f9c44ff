"""The patron's journey of the guide, in a real Chromium: establishment → "Réserver" → a free
slot → "Réserver" → e-mail address → "Confirmer ma réservation" from the e-mail → "Mes
réservations" → cancel. French is the default language; English is one click away."""

import re
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import time_machine
from django.core.mail import EmailMessage
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from strapontin.core.clock import now
from strapontin.public.forms import slot_value
from strapontin.reservations import services
from strapontin.reservations.models import Patron, Reservation, ReservationState
from strapontin.venues.models import Establishment, Feature, Resource, ResourceKind
from tests.conftest import MONDAY_MORNING, PARIS, paris
from tests.factories import AreaFactory, EstablishmentFactory, ResourceFactory

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CONFIRM_LINK = re.compile(r"https?://\S+/r/[\w-]+/confirmer/")
CANCEL_LINK = re.compile(r"https?://\S+/r/[\w-]+/annuler/")


# --- Helpers ---------------------------------------------------------------------------------


def demo_library() -> tuple[Establishment, list[Resource]]:
    """The guide's "Démo BU": one floor, three seats, open 08:00–22:00 every day."""
    library = EstablishmentFactory(name="Démo BU", slug="demo-bu")
    floor = AreaFactory(establishment=library, name="Étage 1", position=1)
    places = [ResourceFactory(area=floor, label=f"Place {n}", position=n) for n in (1, 2, 3)]
    return library, places


def tomorrow() -> date:
    """Tomorrow in the library's zone: always open and bookable, whatever the hour now."""
    return now().astimezone(PARIS).date() + timedelta(days=1)


def at(day: date, hour: int) -> datetime:
    return paris(day.year, day.month, day.day, hour, 0)


def on_live_server(url: str, live_server: LiveServer) -> str:
    """Links in e-mails point to BASE_URL; the test's server listens elsewhere."""
    server = urlsplit(live_server.url)
    return urlunsplit(urlsplit(url)._replace(scheme=server.scheme, netloc=server.netloc))


def wait_for_mail(outbox: list[EmailMessage], count: int) -> list[EmailMessage]:
    """E-mails leave after the commit (tasks run at once in tests); allow for the request's
    last instants."""
    deadline = time.monotonic() + 5
    while len(outbox) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(outbox) == count, [m.subject for m in outbox]
    return outbox


def choose_slot(page: Page, place: Resource, start: datetime) -> None:
    """Click the label of a free slot, as a thumb would; the hidden radio gets checked."""
    value = slot_value(place.pk, start)
    page.locator(f'label.slot.free:has(input[value="{value}"])').click()
    expect(page.locator(f'input[name="slot"][value="{value}"]')).to_be_checked()


def book_from_the_establishments_list(
    page: Page, email: str, place: Resource, start: datetime, *, reserve: str
) -> None:
    """The guide's three clicks, then the address: `reserve` is the button's text."""
    page.goto("/")
    page.get_by_role("link", name="Démo BU", exact=True).click()
    expect(page).to_have_url(re.compile(r"/demo-bu/$"))
    page.get_by_role("link", name=reserve, exact=True).click()
    expect(page).to_have_url(re.compile(r"/demo-bu/reservation/$"))
    # The grid opens on today; tomorrow is one click further and always has free slots.
    page.locator(f'.day-nav a[href="?date={start.date().isoformat()}"]').click()
    choose_slot(page, place, start)
    page.get_by_role("button", name=reserve, exact=True).click()
    expect(page).to_have_url(re.compile(r"/demo-bu/reservation/reserver/\?"))
    page.locator('input[name="email"]').fill(email)
    page.get_by_role("button", name=reserve, exact=True).click()
    expect(page).to_have_url(re.compile(r"/demo-bu/reservation/[A-Z0-9]{8}/$"))


# --- Journeys --------------------------------------------------------------------------------


def test_first_reservation_is_confirmed_from_the_email_and_cancelled_in_my_reservations(
    page: Page, live_server: LiveServer, mailoutbox: list[EmailMessage]
) -> None:
    _library, places = demo_library()
    start = at(tomorrow(), 10)

    book_from_the_establishments_list(
        page, "Alice@Example.org", places[1], start, reserve="Réserver"
    )

    reservation = Reservation.objects.get()
    assert (reservation.resource, reservation.start, reservation.end) == (
        places[1],
        start,
        start + timedelta(hours=1),
    )
    assert reservation.state == ReservationState.PENDING
    assert reservation.patron.email == "alice@example.org"
    main = page.locator("main")
    expect(main).to_contain_text("alice@example.org")
    expect(main).to_contain_text("Confirmer ma réservation")
    expect(main).to_contain_text(re.compile(r"spams?|indésirables?", re.IGNORECASE))

    (request,) = wait_for_mail(mailoutbox, 1)
    assert request.to == ["alice@example.org"]
    found = CONFIRM_LINK.search(request.body)
    assert found, request.body
    confirm_url = on_live_server(found.group(), live_server)

    # Mail scanners open every link: opening it shows the page and changes nothing.
    page.goto(confirm_url)
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.PENDING
    assert not reservation.patron.is_verified
    page.get_by_role("button", name="Confirmer ma réservation").click()

    expect(page.locator("h1")).to_contain_text("confirmée")
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.CONFIRMED
    assert Patron.objects.get().is_verified

    _request, confirmed = wait_for_mail(mailoutbox, 2)
    assert confirmed.to == ["alice@example.org"]
    (ics,) = [a for a in confirmed.attachments if a.filename.endswith(".ics")]
    assert ics.mimetype.startswith("text/calendar")
    assert "BEGIN:VEVENT" in ics.content
    assert reservation.reference in ics.content
    assert "Annuler ma réservation" in confirmed.body
    assert CANCEL_LINK.search(confirmed.body), confirmed.body

    page.locator("header").get_by_role("link", name="Mes réservations").click()
    expect(page.locator("h1")).to_have_text("Mes réservations")
    mine = page.locator("li.reservation", has_text="Étage 1 - Place 2")
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text("10:00–11:00")
    mine.get_by_role("button", name="Annuler ma réservation").click()

    cancelled = page.locator("ul.past li.reservation", has_text="Étage 1 - Place 2")
    expect(cancelled).to_have_count(1)
    expect(cancelled.locator('.why[data-state="cancelled"]')).to_contain_text(
        re.compile(r"annulée.*à votre demande", re.IGNORECASE)
    )
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.CANCELLED
    assert reservation.cancel_cause == "patron"
    wait_for_mail(mailoutbox, 3)


def test_the_journey_speaks_english_after_one_click_on_en(
    page: Page, mailoutbox: list[EmailMessage]
) -> None:
    _library, places = demo_library()
    start = at(tomorrow(), 15)

    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    english = page.locator("header .language").get_by_role("button", name="Switch to English")
    expect(english).to_have_text("EN")
    english.click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Libraries")

    book_from_the_establishments_list(page, "bob@example.org", places[0], start, reserve="Reserve")

    expect(page.locator("h1")).to_have_text("One more step: confirm by e-mail")
    expect(page.locator("main")).to_contain_text("Confirm my reservation")
    expect(page.locator("main")).to_contain_text("spam folder")
    reservation = Reservation.objects.get()
    assert reservation.state == ReservationState.PENDING
    assert reservation.language == "en"
    (request,) = wait_for_mail(mailoutbox, 1)
    assert "Confirm my reservation" in request.body


def test_second_reservation_from_the_browser_that_confirmed_is_confirmed_at_once(
    page: Page, live_server: LiveServer, mailoutbox: list[EmailMessage]
) -> None:
    _library, places = demo_library()
    day = tomorrow()
    book_from_the_establishments_list(
        page, "alice@example.org", places[0], at(day, 9), reserve="Réserver"
    )
    (request,) = wait_for_mail(mailoutbox, 1)
    page.goto(on_live_server(CONFIRM_LINK.search(request.body).group(), live_server))
    page.get_by_role("button", name="Confirmer ma réservation").click()
    expect(page.locator("h1")).to_contain_text("confirmée")
    first = Reservation.objects.get()
    wait_for_mail(mailoutbox, 2)
    mailoutbox.clear()

    # This browser proved the address: the next reservation made here needs no e-mail link.
    book_from_the_establishments_list(
        page, "alice@example.org", places[2], at(day, 14), reserve="Réserver"
    )

    expect(page.locator("h1")).to_contain_text("confirmée")
    expect(page.locator("main")).not_to_contain_text("Confirmer ma réservation")
    second = Reservation.objects.exclude(pk=first.pk).get()
    assert second.state == ReservationState.CONFIRMED
    assert second.confirmation_deadline is None
    (confirmed,) = wait_for_mail(mailoutbox, 1)
    assert not CONFIRM_LINK.search(confirmed.body)
    assert any(a.filename.endswith(".ics") for a in confirmed.attachments)


# --- The README's pictures -------------------------------------------------------------------


def test_reservation_grid_screenshots_for_the_readme(
    browser: Browser, live_server: LiveServer, transactional_db: None
) -> None:
    """docs/screenshots/grid-{phone,desktop}.png. The clock is set to a fixed Monday morning so
    that the pictures only change when the page does."""
    with time_machine.travel(MONDAY_MORNING + timedelta(minutes=10), tick=True):
        library = EstablishmentFactory(name="Démo BU", slug="demo-bu")
        floor = AreaFactory(establishment=library, name="Étage 1", position=1)
        silence = AreaFactory(establishment=library, name="Salle silence", position=2)
        power = Feature.objects.create(code="power", name_fr="Prise", name_en="Power socket")
        window = Feature.objects.create(code="window", name_fr="Fenêtre", name_en="Window")
        places = [ResourceFactory(area=floor, label=f"Place {n}", position=n) for n in (1, 2, 3)]
        places[0].features.add(power, window)
        places[2].features.add(power)
        places.append(ResourceFactory(area=silence, label="Place 1", position=1))
        room = ResourceFactory(
            area=silence, label="Salle de groupe A", position=2, kind=ResourceKind.ROOM, capacity=6
        )
        room.features.add(power)
        for n, (place, hour) in enumerate(
            [(places[0], 10), (places[1], 15), (places[1], 18), (places[3], 11), (room, 13)]
        ):
            services.reservation_create(
                resource=place,
                email=f"patron{n}@example.org",
                start=paris(2026, 3, 2, hour, 0),
                end=paris(2026, 3, 2, hour + 2, 0),
            )

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for name, viewport in [
            ("phone", {"width": 390, "height": 844}),
            ("desktop", {"width": 1280, "height": 900}),
        ]:
            context = browser.new_context(
                base_url=live_server.url,
                locale="fr-FR",
                viewport=viewport,
                is_mobile=name == "phone",
                has_touch=name == "phone",
            )
            page = context.new_page()
            page.goto("/demo-bu/reservation/")
            expect(page.locator("fieldset.place")).to_have_count(5)
            choose_slot(page, places[1], paris(2026, 3, 2, 10, 0))
            # The phone's first screen is the filters; show it the slots, as a patron scrolls.
            top = ".day-nav" if name == "phone" else "body"
            page.locator(top).evaluate("element => element.scrollIntoView({block: 'start'})")
            page.screenshot(path=SCREENSHOTS / f"grid-{name}.png")
            context.close()
