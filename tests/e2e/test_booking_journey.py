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
from playwright.sync_api import Browser, Page, ViewportSize, expect
from pytest_django.live_server_helper import LiveServer

from strapontin.core.clock import now
from strapontin.public.forms import slot_value
from strapontin.reservations import services
from strapontin.reservations.models import Reservation, ReservationState
from strapontin.venues.models import Establishment, Feature, Resource, ResourceKind
from tests.conftest import MONDAY_MORNING, PARIS, paris
from tests.e2e.audit import DESKTOP, PHONE, Journey, assert_email_passes, screen_name
from tests.e2e.conftest import Devices
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

#: What the patron reads and clicks, in each language.
WORDS = {
    "fr": {
        "reserve": "Réserver",
        "confirm": "Confirmer ma réservation",
        "cancel": "Annuler ma réservation",
        "mine": "Mes réservations",
        "send_link": "M'envoyer un lien de connexion",
        "show_mine": "Afficher mes réservations",
        "confirmed": "confirmée",
        "at_your_request": r"annulée.*à votre demande",
    },
    "en": {
        "reserve": "Reserve",
        "confirm": "Confirm my reservation",
        "cancel": "Cancel my reservation",
        "mine": "My reservations",
        "send_link": "Send me a sign-in link",
        "show_mine": "Show my reservations",
        "confirmed": "confirmed",
        "at_your_request": r"cancelled at your request",
    },
}
SIGN_IN_LINK = re.compile(r"https?://\S+/r/[\w-]+/connexion/")
#: Each journey runs in French on a phone and in English on a desktop, so that both languages
#: and both screens are covered without running every journey four times; every step is also
#: checked at 320 and 640 CSS px (zoom).
VARIANTS = [
    pytest.param("fr", PHONE, id="fr-phone"),
    pytest.param("en", DESKTOP, id="en-desktop"),
]


def mail_link(message: EmailMessage, pattern: re.Pattern[str], live_server: LiveServer) -> str:
    found = pattern.search(message.body)
    assert found, message.body
    return on_live_server(found.group(), live_server)


@pytest.mark.parametrize(("language", "screen"), VARIANTS)
def test_first_reservation_confirmed_from_the_email_second_at_once_cancelled_from_the_email(
    devices: Devices,
    live_server: LiveServer,
    mailoutbox: list[EmailMessage],
    language: str,
    screen: ViewportSize,
) -> None:
    """The guide's journey on one device, then "Mes réservations" on another through a
    sign-in link. Every page passes axe and reflows (Journey.step)."""
    words = WORDS[language]
    _library, places = demo_library()
    day = tomorrow()
    phone = devices.open(language=language, screen=screen)
    journey = Journey(f"booking-{language}-{screen_name(screen)}")

    # First reservation: three clicks, the address, then "Confirmer ma réservation".
    phone.goto("/")
    journey.step(phone, "establishments")
    phone.get_by_role("link", name="Démo BU", exact=True).click()
    journey.step(phone, "establishment")
    phone.get_by_role("link", name=words["reserve"], exact=True).click()
    phone.locator(f'.day-nav a[href="?date={day.isoformat()}"]').click()
    choose_slot(phone, places[1], at(day, 10))
    journey.step(phone, "grid, a slot chosen")
    phone.get_by_role("button", name=words["reserve"], exact=True).click()
    journey.step(phone, "e-mail address")
    phone.locator('input[name="email"]').fill("Alice@Example.org")
    phone.get_by_role("button", name=words["reserve"], exact=True).click()
    expect(phone.locator("main")).to_contain_text(words["confirm"])
    journey.step(phone, "confirm by e-mail", docs="sent-phone" if language == "fr" else None)
    first = Reservation.objects.get()
    assert (first.resource, first.start, first.state, first.language) == (
        places[1],
        at(day, 10),
        ReservationState.PENDING,
        language,
    )

    (request,) = wait_for_mail(mailoutbox, 1)
    assert words["confirm"] in request.body
    phone.goto(mail_link(request, CONFIRM_LINK, live_server))
    journey.step(phone, "confirmation link")
    first.refresh_from_db()
    assert first.state == ReservationState.PENDING  # opening the link changes nothing
    phone.get_by_role("button", name=words["confirm"]).click()
    expect(phone.locator("h1")).to_contain_text(words["confirmed"])
    journey.step(phone, "confirmed")
    first.refresh_from_db()
    assert first.state == ReservationState.CONFIRMED
    wait_for_mail(mailoutbox, 2)

    # Second reservation of the verified address: confirmed at once, no e-mail to click.
    phone.goto(f"/demo-bu/reservation/?date={day.isoformat()}")
    choose_slot(phone, places[2], at(day, 14))
    phone.get_by_role("button", name=words["reserve"], exact=True).click()
    expect(phone.locator('input[name="email"]')).to_have_value("alice@example.org")
    phone.get_by_role("button", name=words["reserve"], exact=True).click()
    expect(phone.locator("h1")).to_contain_text(words["confirmed"])
    expect(phone.locator("main")).not_to_contain_text(words["confirm"])
    journey.step(phone, "second reservation confirmed at once")
    second = Reservation.objects.exclude(pk=first.pk).get()
    assert (second.state, second.confirmation_deadline) == (ReservationState.CONFIRMED, None)
    confirmed = wait_for_mail(mailoutbox, 3)[-1]
    assert not CONFIRM_LINK.search(confirmed.body)
    assert words["cancel"] in confirmed.body

    # "Annuler ma réservation" from the e-mail.
    phone.goto(mail_link(confirmed, CANCEL_LINK, live_server))
    journey.step(phone, "cancellation link")
    second.refresh_from_db()
    assert second.state == ReservationState.CONFIRMED
    phone.get_by_role("button", name=words["cancel"]).click()
    expect(phone.locator(".why")).to_contain_text(
        re.compile(words["at_your_request"], re.IGNORECASE)
    )
    journey.step(phone, "cancelled")
    second.refresh_from_db()
    assert (second.state, second.cancel_cause) == (ReservationState.CANCELLED, "patron")
    wait_for_mail(mailoutbox, 4)

    # "Mes réservations" on another device, through a sign-in link.
    other_screen = DESKTOP if screen == PHONE else PHONE
    computer = devices.open(language=language, screen=other_screen)
    computer.goto("/")
    computer.locator("header").get_by_role("link", name=words["mine"]).click()
    expect(computer.locator("li.reservation")).to_have_count(0)
    journey.step(computer, "my reservations on another device")
    computer.locator('.sign-in input[name="email"]').fill("alice@example.org")
    computer.get_by_role("button", name=words["send_link"]).click()
    journey.step(computer, "sign-in link sent")
    sign_in = wait_for_mail(mailoutbox, 5)[-1]
    assert sign_in.to == ["alice@example.org"]
    computer.goto(mail_link(sign_in, SIGN_IN_LINK, live_server))
    journey.step(computer, "sign-in link")
    computer.get_by_role("button", name=words["show_mine"]).click()
    expect(computer.locator("h1")).to_have_text(words["mine"])
    upcoming = computer.locator("ul.reservations:not(.past) li.reservation")
    expect(upcoming).to_have_count(1)
    expect(upcoming).to_contain_text("Étage 1 - Place 2")
    expect(upcoming).to_contain_text("10:00–11:00")
    cancelled = computer.locator("ul.past li.reservation")
    expect(cancelled).to_have_count(1)
    expect(cancelled).to_contain_text("Étage 1 - Place 3")
    expect(cancelled.locator('.why[data-state="cancelled"]')).to_contain_text(
        re.compile(words["at_your_request"], re.IGNORECASE)
    )
    journey.step(
        computer,
        "my reservations, signed in",
        docs="my-reservations-phone" if language == "en" else None,
    )

    # The e-mails of the journey pass the same audit, as a mail client shows them.
    reader = devices.open(language=language, screen=screen)
    for message in mailoutbox:
        assert_email_passes(reader, message, journey.name)


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
