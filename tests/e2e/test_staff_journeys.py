"""Staff journeys in a real Chromium: a desk agent signs in, validates a presence, cancels a
reservation with a reason and books for a walk-in patron; a manager declares a closure, checks
the reservations it cancels, confirms, and the patrons are told why. Every page passes axe
and reflows (Journey.step), in French on a phone and in English on a desktop.

The clock is set to Monday 2 March 2026, 09:50 in Paris, and runs (the live server reads it
too): the 10:00 reservations are then in their check-in window, whatever the real hour."""

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import EmailMessage
from django.test import Client
from playwright.sync_api import Page, ViewportSize, expect
from pytest_django.live_server_helper import LiveServer

from strapontin.reservations import services
from strapontin.reservations.models import Patron, Reservation, ReservationState
from strapontin.venues.models import Establishment, Resource
from tests.conftest import MONDAY_MORNING, paris
from tests.e2e.audit import DESKTOP, PHONE, Journey, assert_email_passes, screen_name
from tests.e2e.conftest import Devices
from tests.e2e.keyboard import every_stop
from tests.e2e.test_booking_journey import wait_for_mail
from tests.factories import AreaFactory, EstablishmentFactory, ResourceFactory, StaffRoleFactory

pytestmark = pytest.mark.e2e

WORDS = {
    "fr": {
        "log_in": "Connexion",
        "today": "Accueil du jour",
        "validate": "Valider la présence",
        "cancel": "Annuler…",
        "cancel_it": "Annuler la réservation",
        "reason": "Place indisponible",
        "walk_in": "Réserver pour un usager présent à l'accueil",
        "book": "Réserver",
        "closure_reason": "Inventaire",
        "see_affected": "Voir les réservations concernées",
        "confirm_change": "Confirmer le changement",
        "closed": "Fermé",
    },
    "en": {
        "log_in": "Log in",
        "today": "Today's desk",
        "validate": "Validate presence",
        "cancel": "Cancel…",
        "cancel_it": "Cancel the reservation",
        "reason": "Place unavailable",
        "walk_in": "Book for a walk-in patron",
        "book": "Book",
        "closure_reason": "Stocktaking",
        "see_affected": "See the affected reservations",
        "confirm_change": "Confirm the change",
        "closed": "Closed",
    },
}
VARIANTS = [
    pytest.param("fr", PHONE, id="fr-phone"),
    pytest.param("en", DESKTOP, id="en-desktop"),
]
TUESDAY = paris(2026, 3, 3, 0, 0).date()


@pytest.fixture
def monday_0950() -> Iterator[None]:
    with time_machine.travel(MONDAY_MORNING + timedelta(minutes=50), tick=True):
        yield


def demo_library() -> tuple[Establishment, list[Resource]]:
    library = EstablishmentFactory(name="Démo BU", slug="demo-bu")
    floor = AreaFactory(establishment=library, name="Étage 1", position=1)
    return library, [ResourceFactory(area=floor, label=f"Place {n}", position=n) for n in (1, 2, 3)]


def booked(place: Resource, email: str, start: datetime, language: str) -> Reservation:
    """A verified address books from a device that proved it: confirmed at once."""
    patron = Patron.objects.create(email=email, verified_at=MONDAY_MORNING - timedelta(days=1))
    reservation = services.reservation_create(
        resource=place,
        email=email,
        start=start,
        end=start + timedelta(hours=1),
        language=language,
        known_patron_id=patron.pk,
    )
    assert reservation.state == ReservationState.CONFIRMED
    return reservation


def signed_in(page: Page, user: User, live_server: LiveServer) -> None:
    """Reuse a login: the session Django's test client opens, given to the browser."""
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )


@pytest.mark.parametrize(("language", "screen"), VARIANTS)
def test_a_desk_agent_validates_cancels_with_a_reason_and_books_a_walk_in(
    devices: Devices,
    mailoutbox: list[EmailMessage],
    monday_0950: None,
    language: str,
    screen: ViewportSize,
) -> None:
    words = WORDS[language]
    library, places = demo_library()
    StaffRoleFactory(establishment=library, role="desk", user__username="accueil")
    alice = booked(places[1], "alice@example.org", paris(2026, 3, 2, 10, 0), language)
    bob = booked(places[2], "bob@example.org", paris(2026, 3, 2, 10, 0), language)
    mailoutbox.clear()
    desk = devices.open(language=language, screen=screen)
    journey = Journey(f"desk-{language}-{screen_name(screen)}")

    desk.goto("/desk/")
    expect(desk).to_have_url(re.compile(r"/admin/login/\?next=/desk/$"))
    journey.step(desk, "sign in")
    desk.locator("#id_username").fill("accueil")
    desk.locator("#id_password").fill("secret-password")
    desk.get_by_role("button", name=words["log_in"]).click()
    journey.step(desk, "front desk")
    desk.get_by_role("link", name=words["today"]).click()
    expect(desk.locator(".desk-row")).to_have_count(2)
    journey.step(desk, "today's reservations", docs="desk-phone" if language == "fr" else None)
    stops = every_stop(desk)  # the focus shows on every control of the desk
    assert sum(words["validate"] in stop for stop in stops) == 2, stops

    # Validate the presence of a patron at the desk.
    desk.locator(f"#r-{alice.reference}").get_by_role("button", name=words["validate"]).click()
    expect(desk.locator(".messages")).to_be_visible()
    journey.step(desk, "presence validated")
    alice.refresh_from_db()
    assert (alice.state, alice.checkin_method) == (ReservationState.CHECKED_IN, "desk")

    # Cancel with a reason: the patron's e-mail says it.
    row = desk.locator(f"#r-{bob.reference}")
    row.locator("summary", has_text=words["cancel"]).click()
    row.get_by_role("radio", name=words["reason"]).check()
    journey.step(desk, "cancel with a reason")
    row.get_by_role("button", name=words["cancel_it"]).click()
    expect(desk.locator(".messages")).to_be_visible()
    journey.step(desk, "cancelled")
    bob.refresh_from_db()
    assert (bob.state, bob.cancel_cause, bob.cancel_reason) == (
        ReservationState.CANCELLED,
        "staff",
        words["reason"],
    )
    (told,) = wait_for_mail(mailoutbox, 1)
    assert told.to == ["bob@example.org"]
    assert words["reason"] in told.body
    mail_reader = devices.open(language=language, screen=screen)
    assert_email_passes(mail_reader, told, journey.name)

    # A walk-in patron: a place, a start, a duration, an address.
    desk.locator("#walk-in summary").click()
    form = desk.locator("#walk-in form")
    form.locator('select[name="resource"]').select_option(str(places[0].pk))
    form.locator('select[name="start"]').select_option("11:00")
    form.locator('select[name="duration"]').select_option("60")
    form.locator('input[name="email"]').fill("carol@example.org")
    journey.step(desk, "walk-in form")
    form.get_by_role("button", name=words["book"], exact=True).click()
    expect(desk.locator(".messages")).to_be_visible()
    journey.step(desk, "walk-in booked")
    walk_in = Reservation.objects.get(patron__email="carol@example.org")
    assert (walk_in.resource, walk_in.start) == (places[0], paris(2026, 3, 2, 11, 0))
    assert walk_in.is_holding


@pytest.mark.parametrize(("language", "screen"), VARIANTS)
def test_a_manager_closes_a_day_and_the_patrons_are_told_why(
    devices: Devices,
    live_server: LiveServer,
    mailoutbox: list[EmailMessage],
    monday_0950: None,
    language: str,
    screen: ViewportSize,
) -> None:
    words = WORDS[language]
    library, places = demo_library()
    manager = StaffRoleFactory(establishment=library, role="manager").user
    alice = booked(places[1], "alice@example.org", paris(2026, 3, 3, 10, 0), language)
    bob = booked(places[2], "bob@example.org", paris(2026, 3, 3, 14, 0), language)
    mailoutbox.clear()
    office = devices.open(language=language, screen=screen)
    signed_in(office, manager, live_server)
    journey = Journey(f"closure-{language}-{screen_name(screen)}")

    office.goto("/desk/demo-bu/fermetures/")
    journey.step(office, "closures")
    office.locator('input[name="first_day"]').fill(TUESDAY.isoformat())
    office.locator('input[name="last_day"]').fill(TUESDAY.isoformat())
    office.locator('input[name="reason"]').fill(words["closure_reason"])
    office.get_by_role("button", name=words["see_affected"]).click()
    affected = office.locator("table.desk-table").first.locator("tbody tr")
    expect(affected).to_have_count(2)
    journey.step(
        office, "affected reservations", docs="closure-desktop" if language == "en" else None
    )
    alice.refresh_from_db()
    assert alice.state == ReservationState.CONFIRMED  # the preview changes nothing
    office.get_by_role("button", name=words["confirm_change"]).click()
    expect(office.locator(".messages")).to_be_visible()
    journey.step(office, "closure applied")

    for reservation in (alice, bob):
        reservation.refresh_from_db()
        assert (reservation.state, reservation.cancel_cause) == (
            ReservationState.CANCELLED,
            "staff",
        )
        assert words["closure_reason"] in reservation.cancel_reason
    told = wait_for_mail(mailoutbox, 2)
    assert sorted(m.to[0] for m in told) == ["alice@example.org", "bob@example.org"]
    assert all(words["closure_reason"] in m.body for m in told)
    assert_email_passes(devices.open(language=language, screen=screen), told[0], journey.name)

    # The patrons' grid says the day is closed, and why.
    patron = devices.open(language=language, screen=screen)
    patron.goto(f"/demo-bu/reservation/?date={TUESDAY.isoformat()}")
    notice = patron.locator("main .notice")
    expect(notice).to_contain_text(words["closed"])
    expect(notice).to_contain_text(words["closure_reason"])
    journey.step(patron, "grid of the closed day")
