"""The waitlist in a real Chromium: every place is taken, the patron asks to be told from the
reservation page, a place frees up, and the e-mail's link takes it in one tap. Each page passes
axe and reflows (Journey.step), in French on a phone and in English on a desktop."""

import re
import time
from datetime import timedelta

import pytest
from django.core.mail import EmailMessage
from playwright.sync_api import ViewportSize, expect
from pytest_django.live_server_helper import LiveServer

from strapontin.reservations import services
from strapontin.reservations.models import Patron, Reservation, ReservationState, WaitlistRequest
from tests.e2e.audit import DESKTOP, PHONE, Journey, assert_email_passes, screen_name
from tests.e2e.conftest import Devices
from tests.e2e.test_booking_journey import at, demo_library, on_live_server, tomorrow

pytestmark = pytest.mark.e2e

TAKE_LINK = re.compile(r"https?://\S+/r/[\w-]+/place-gardee/")
WORDS = {
    "fr": {
        "ask": "Prévenez-moi quand une place se libère",
        "join": "M'inscrire sur la liste d'attente",
        "joined": "Vous êtes sur la liste d'attente",
        "take": "Prendre cette place",
        "yours": "La place est à vous",
    },
    "en": {
        "ask": "Tell me when a place frees up",
        "join": "Join the waitlist",
        "joined": "You are on the waitlist",
        "take": "Take this place",
        "yours": "The place is yours",
    },
}


def mail_to(outbox: list[EmailMessage], email: str, pattern: re.Pattern[str]) -> EmailMessage:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for message in outbox:
            if message.to == [email] and pattern.search(message.body):
                return message
        time.sleep(0.05)
    raise AssertionError([m.subject for m in outbox])


@pytest.mark.parametrize(
    ("language", "screen"),
    [pytest.param("fr", PHONE, id="fr-phone"), pytest.param("en", DESKTOP, id="en-desktop")],
)
def test_a_patron_joins_the_waitlist_and_takes_the_freed_place_from_the_email(
    devices: Devices,
    live_server: LiveServer,
    mailoutbox: list[EmailMessage],
    language: str,
    screen: ViewportSize,
) -> None:
    words = WORDS[language]
    _library, places = demo_library()
    day = tomorrow()
    held = []
    for n, place in enumerate(places):
        patron = Patron.objects.create(email=f"holder{n}@example.org", verified_at=at(day, 0))
        held.append(
            services.reservation_create(
                resource=place,
                email=patron.email,
                start=at(day, 10),
                end=at(day, 11),
                known_patron_id=patron.pk,
            )
        )
    page = devices.open(language=language, screen=screen)
    journey = Journey(f"waitlist-{language}-{screen_name(screen)}")
    page.goto(f"/demo-bu/reservation/?date={day.isoformat()}")
    page.get_by_role("link", name=words["ask"]).click()
    expect(page.locator('input[name="date"]')).to_have_value(day.isoformat())
    journey.step(page, "waitlist form")
    page.locator('input[name="start"]').fill("10:00")
    page.locator('input[name="email"]').fill("ada@example.org")
    page.get_by_role("button", name=words["join"]).click()
    expect(page.locator("h1")).to_have_text(words["joined"])
    journey.step(page, "on the waitlist")
    wish = WaitlistRequest.objects.get()
    assert (wish.start, wish.end) == (at(day, 10), at(day, 10) + timedelta(hours=1))

    services.reservation_cancel_by_patron(reservation=held[1])
    offer = mail_to(mailoutbox, "ada@example.org", TAKE_LINK)
    page.goto(on_live_server(TAKE_LINK.search(offer.body).group(), live_server))  # type: ignore[union-attr]
    journey.step(page, "a place held")
    held_place = Reservation.objects.get(state=ReservationState.OFFERED)
    assert held_place.resource == places[1]
    page.get_by_role("button", name=words["take"]).click()
    expect(page.locator("h1")).to_have_text(words["yours"])
    journey.step(page, "taken")
    held_place.refresh_from_db()
    assert held_place.state == ReservationState.CONFIRMED
    # Its e-mails pass the same audit, as a mail client shows them.
    reader = devices.open(language=language, screen=screen)
    for message in mailoutbox:
        if message.to == ["ada@example.org"]:
            assert_email_passes(reader, message, journey.name)
