"""Fair opening in a real Chromium, in French on a phone: the library's page says when the
new day opens, "Réserver" on that day asks for the place, the e-mail's link enters the
request, and after the draw its page publishes the seed. Every page and e-mail passes axe
and reflows (Journey.step, assert_email_passes)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.mail import EmailMessage
from playwright.sync_api import expect
from pytest_django.live_server_helper import LiveServer

from strapontin.core.clock import now
from strapontin.reservations import lottery
from strapontin.reservations.models import Draw, DrawRequest, DrawRequestState, Patron
from strapontin.venues.models import BookingPolicy
from tests.conftest import PARIS, paris
from tests.e2e.audit import PHONE, Journey, assert_email_passes
from tests.e2e.conftest import Devices
from tests.e2e.test_booking_journey import (
    choose_slot,
    demo_library,
    mail_link,
    wait_for_mail,
)

pytestmark = pytest.mark.e2e

DRAW_LINK = re.compile(r"https?://\S+/r/[\w-]+/tirage/")


def test_a_request_in_the_window_is_confirmed_by_email_then_drawn_and_published(
    devices: Devices, live_server: LiveServer, mailoutbox: list[EmailMessage]
) -> None:
    library, places = demo_library()
    local = now().astimezone(PARIS)
    BookingPolicy.objects.create(
        establishment=library,
        day_opens_at=local.time().replace(second=0, microsecond=0),
        fair_opening=True,
        fair_window_minutes=10,
    )
    window = lottery.next_window(library, now())
    assert window is not None
    assert window.is_open(now())
    day = window.day
    start = paris(day.year, day.month, day.day, 10, 0)
    for n in (1, 2):  # two rivals who want place 1 and nothing else
        patron = Patron.objects.create(email=f"rival{n}@example.org", verified_at=now())
        lottery.draw_request_create(
            resource=places[0],
            email=patron.email,
            start=start,
            end=start + timedelta(hours=1),
            known_patron_id=patron.pk,
            flexible=False,
        )
    rivals_mail = len(wait_for_mail(mailoutbox, 2))
    phone = devices.open(language="fr", screen=PHONE)
    journey = Journey("fair-opening-fr-phone")

    phone.goto("/demo-bu/")
    expect(phone.locator(".fair-opening")).to_contain_text("Ouverture équitable")
    journey.step(phone, "establishment, fair opening")
    phone.goto(f"/demo-bu/reservation/?date={day.isoformat()}")
    journey.step(phone, "grid of the opening day")
    choose_slot(phone, places[0], start)
    phone.get_by_role("button", name="Réserver", exact=True).click()
    expect(phone.locator("main")).to_contain_text("résultat par e-mail")
    journey.step(phone, "ask for the place")
    phone.locator('input[name="email"]').fill("alice@example.org")
    phone.get_by_role("button", name="Demander cette place", exact=True).click()
    expect(phone.locator("main")).to_contain_text("Confirmer ma demande")
    journey.step(phone, "confirm the request by e-mail")

    confirm = wait_for_mail(mailoutbox, rivals_mail + 1)[-1]
    assert_email_passes(devices.open(language="fr", screen=PHONE), confirm, "draw confirm")
    phone.goto(mail_link(confirm, DRAW_LINK, live_server))
    journey.step(phone, "confirmation link")
    assert DrawRequest.objects.get(patron__email="alice@example.org").state == "unconfirmed"
    phone.get_by_role("button", name="Confirmer ma demande").click()
    expect(phone.locator("h1")).to_contain_text("inscrite au tirage")
    journey.step(phone, "entered")

    with time_machine.travel(window.closes_at + timedelta(seconds=1), tick=True):
        assert lottery.sweep_draws() == 1
        draw = Draw.objects.get()
        phone.goto(f"/demo-bu/tirage/{day.isoformat()}/")
        expect(phone.locator("main")).to_contain_text(draw.seed)
        journey.step(phone, "the draw's page, seed published")
    assert DrawRequest.objects.get(patron__email="alice@example.org").state == (
        DrawRequestState.WON
    )
    lost = DrawRequest.objects.filter(state=DrawRequestState.LOST)
    assert lost.count() >= 1
    results = wait_for_mail(mailoutbox, rivals_mail + 1 + 3)
    lost_mail = next(m for m in results if m.to == [lost[0].patron.email] and "tirage" in m.subject)
    assert_email_passes(devices.open(language="fr", screen=PHONE), lost_mail, "draw lost")
