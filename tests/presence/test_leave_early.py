""" "Libérer ma place": a checked-in patron ends the reservation; the rest of the slot is
bookable by someone else at once. Only a place in use can be released."""

from datetime import timedelta

import pytest

from strapontin.core.audit import entries_for
from strapontin.core.errors import DomainError
from strapontin.reservations import selectors, services
from strapontin.reservations.models import CheckinMethod, ReservationState
from strapontin.reservations.presence import reservation_check_in, reservation_leave_early
from tests.conftest import paris
from tests.presence.conftest import TUESDAY_10, at, book, book_confirmed, reload

pytestmark = pytest.mark.usefixtures("clock")

TEN_TWENTY = paris(2026, 3, 3, 10, 20)
TEN_THIRTY = paris(2026, 3, 3, 10, 30)


@pytest.fixture
def checked_in(place):
    reservation = book_confirmed(place, minutes=120)  # 10:00–12:00
    with at(TUESDAY_10 + timedelta(minutes=5)):
        reservation_check_in(
            reservation=reservation, method=CheckinMethod.QR, actor="alice@example.org"
        )
    return reservation


def test_leaving_early_releases_the_place_and_records_when(checked_in):
    with at(TEN_TWENTY):
        released = reservation_leave_early(reservation=checked_in)
    assert released.state == ReservationState.RELEASED
    stored = reload(checked_in)
    assert (stored.state, stored.ended_at) == (ReservationState.RELEASED, TEN_TWENTY)
    entry = entries_for(checked_in).get(action="reservation.released")
    assert entry.actor_label == "alice@example.org"


def test_the_rest_of_the_slot_is_bookable_by_someone_else(checked_in, place):
    with at(TEN_TWENTY):
        reservation_leave_early(reservation=checked_in)
        grid = selectors.day_grid(place.establishment, TUESDAY_10.date(), selectors.GridFilters())
        (row,) = grid.rows
        free = {c.start for c in row.cells if c.selectable}
        assert TEN_THIRTY in free
        assert paris(2026, 3, 3, 11, 0) in free
        other = book(place, email="bob@example.org", start=TEN_THIRTY, minutes=90)
    assert other.state == ReservationState.PENDING
    assert reload(checked_in).state == ReservationState.RELEASED


def test_while_checked_in_the_rest_of_the_slot_stays_taken(checked_in, place):
    with at(TEN_TWENTY), pytest.raises(DomainError) as caught:
        book(place, email="bob@example.org", start=TEN_THIRTY)
    assert caught.value.code == "slot_taken"


def test_releasing_twice_is_harmless(checked_in):
    with at(TEN_TWENTY):
        reservation_leave_early(reservation=checked_in)
    with at(TEN_TWENTY + timedelta(minutes=1)):
        again = reservation_leave_early(reservation=checked_in)
    assert (again.state, again.ended_at) == (ReservationState.RELEASED, TEN_TWENTY)
    assert entries_for(checked_in).filter(action="reservation.released").count() == 1


def test_a_confirmed_reservation_cannot_be_released(confirmed):
    with at(TUESDAY_10), pytest.raises(DomainError) as caught:
        reservation_leave_early(reservation=confirmed)
    assert caught.value.code == "not_checked_in"
    assert reload(confirmed).state == ReservationState.CONFIRMED


def test_a_pending_reservation_cannot_be_released(pending):
    with pytest.raises(DomainError) as caught:
        reservation_leave_early(reservation=pending)
    assert caught.value.code == "not_checked_in"


def test_a_cancelled_reservation_cannot_be_released(confirmed):
    services.reservation_cancel_by_patron(reservation=confirmed)
    with pytest.raises(DomainError) as caught:
        reservation_leave_early(reservation=confirmed)
    assert caught.value.code == "not_checked_in"


def test_a_finished_reservation_cannot_be_released(checked_in):
    with at(checked_in.end), pytest.raises(DomainError) as caught:
        reservation_leave_early(reservation=checked_in)
    assert caught.value.code == "not_checked_in"
    assert reload(checked_in).state == ReservationState.CHECKED_IN
