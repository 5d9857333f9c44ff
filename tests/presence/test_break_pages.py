"""The short break on the pages: "Mes réservations" offers it and says until when, the grid and
its list say "en pause jusqu'à 10:50" in words (not colour alone), the check-in page offers to
come back, and the desk shows, counts, starts and ends breaks."""

from datetime import timedelta
from html import unescape

import pytest
from django.test import Client

from strapontin.public.forms import slot_value
from strapontin.reservations import services
from strapontin.reservations.models import CheckinMethod, Reservation, ReservationState
from strapontin.reservations.presence import reservation_check_in, reservation_start_break
from tests.conftest import paris
from tests.desk.conftest import signed_in
from tests.factories import StaffRoleFactory
from tests.presence.conftest import TUESDAY_10, at, reload

pytestmark = pytest.mark.usefixtures("clock")

TEN_TWENTY = paris(2026, 3, 3, 10, 20)


@pytest.fixture
def browser(place):
    """A browser that booked 10:00–12:00 on Tuesday; the patron confirmed and came at 10:05."""
    client = Client()
    response = client.post(
        f"/{place.establishment.slug}/reservation/reserver/",
        {"slot": slot_value(place.pk, TUESDAY_10), "duration": 120, "email": "alice@example.org"},
    )
    assert response.status_code == 302
    reservation = Reservation.objects.get()
    services.reservation_confirm(reservation=reservation)
    with at(TUESDAY_10 + timedelta(minutes=5)):
        reservation_check_in(reservation=reservation, method=CheckinMethod.QR, actor="alice")
    client.reservation = reservation
    return client


def test_my_reservations_offers_a_break_then_says_until_when(browser):
    reservation = browser.reservation
    with at(TEN_TWENTY):
        page = browser.get("/mes-reservations/").content.decode()
        assert "Faire une pause (30 minutes au plus)" in page
        response = browser.post(f"/mes-reservations/{reservation.reference}/pause/", follow=True)
    assert reload(reservation).state == ReservationState.ON_BREAK
    page = unescape(response.content.decode())
    assert "Votre place vous est gardée jusqu'à 10:50" in page
    assert "En pause jusqu'à 10:50" in page
    assert "Faire une pause" not in page  # one break per reservation
    assert "Je suis de retour" in page


def test_a_second_break_from_the_page_is_refused_with_a_message(browser):
    reservation = browser.reservation
    with at(TEN_TWENTY):
        browser.post(f"/mes-reservations/{reservation.reference}/pause/")
        reservation_check_in(reservation=reservation, method=CheckinMethod.QR, actor="alice")
        response = browser.post(f"/mes-reservations/{reservation.reference}/pause/", follow=True)
    assert response.status_code == 200
    assert "Vous avez déjà pris la pause de cette réservation." in unescape(
        response.content.decode()
    )
    assert reload(reservation).state == ReservationState.CHECKED_IN


def test_another_browser_cannot_pause_someone_elses_reservation(browser):
    with at(TEN_TWENTY):
        response = Client().post(f"/mes-reservations/{browser.reservation.reference}/pause/")
    assert response.status_code == 404
    assert reload(browser.reservation).state == ReservationState.CHECKED_IN


def test_the_grid_and_the_list_say_the_place_is_on_a_break(browser, place):
    with at(TEN_TWENTY):
        reservation_start_break(reservation=browser.reservation, actor="alice")
        url = f"/{place.establishment.slug}/reservation/?date=2026-03-03"
        grid = unescape(Client().get(url).content.decode())
        listed = unescape(Client().get(f"{url}&vue=liste").content.decode())
    assert "en pause jusqu'à 10:50" in grid
    assert 'class="slot busy on-break"' in grid
    assert "⏸" in grid
    assert "en pause jusqu'à 10:50" in listed


def test_the_check_in_page_offers_to_come_back(browser, place):
    with at(TEN_TWENTY):
        reservation_start_break(reservation=browser.reservation, actor="alice")
        code = place.establishment.checkin_code
        page = browser.get(f"/reservation/validate?code={code}&via=qr").content.decode()
        assert "Je suis de retour\u00a0: valider ma présence" in page
        response = browser.post("/reservation/validate", {"code": code, "via": "qr"})
    assert response.status_code == 200
    assert reload(browser.reservation).state == ReservationState.CHECKED_IN


def test_the_desk_shows_counts_starts_and_ends_a_break(browser, place):
    establishment = place.establishment
    agent = StaffRoleFactory(establishment=establishment, role="desk").user
    desk = signed_in(agent)
    reference = browser.reservation.reference
    with at(TEN_TWENTY):
        page = desk.get(f"/desk/{establishment.slug}/").content.decode()
        assert "Mettre en pause" in page
        desk.post(f"/desk/{establishment.slug}/reservations/{reference}/pause/")
        assert reload(browser.reservation).state == ReservationState.ON_BREAK
        page = unescape(desk.get(f"/desk/{establishment.slug}/").content.decode())
        assert "en pause jusqu'à 10:50" in page
        assert "<strong>1</strong> en pause" in page
        assert "Retour de pause" in page
        timeline = desk.get(f"/desk/{establishment.slug}/?vue=frise").content.decode()
        assert "⏸" in timeline
        desk.post(f"/desk/{establishment.slug}/reservations/{reference}/valider/")
    assert reload(browser.reservation).state == ReservationState.CHECKED_IN
