"""I5: a confirmed reservation whose check-in window closes without validation gives its
place back at once. The grid and the booking never wait for the sweep; booking the place
marks the no-show inside the booking transaction, and the sweep has nothing left to do."""

from datetime import timedelta

import pytest
from django.core import mail

from strapontin.core.audit import entries_for
from strapontin.core.errors import DomainError
from strapontin.reservations import selectors
from strapontin.reservations.models import OutboxMessage, ReservationState
from strapontin.reservations.sweeps import sweep_no_shows
from tests.conftest import paris
from tests.factories import ResourceFactory
from tests.presence.conftest import SECOND, TUESDAY_10, at, book, book_confirmed, reload

pytestmark = pytest.mark.usefixtures("clock")

ELEVEN = paris(2026, 3, 3, 11, 0)


@pytest.fixture
def two_hours(place):
    """10:00–12:00; the window closes at 10:30."""
    reservation = book_confirmed(place, minutes=120)
    assert reservation.checkin_closes_at == TUESDAY_10 + timedelta(minutes=30)
    return reservation


def _cell(place, start):
    grid = selectors.day_grid(place.establishment, start.date(), selectors.GridFilters())
    (row,) = [r for r in grid.rows if r.resource.pk == place.pk]
    (cell,) = [c for c in row.cells if c.start == start]
    return cell


def test_the_grid_shows_the_place_free_as_soon_as_the_window_closes(two_hours, place):
    with at(two_hours.checkin_closes_at - SECOND):
        assert not _cell(place, ELEVEN).free
    with at(two_hours.checkin_closes_at):
        cell = _cell(place, ELEVEN)
        assert cell.free
        assert cell.selectable
    # Only the grid changed its mind: nothing was written.
    assert reload(two_hours).state == ReservationState.CONFIRMED


def test_booking_the_place_when_the_window_closes_marks_the_no_show_before_any_sweep(
    two_hours, place, capture
):
    mail.outbox.clear()
    with at(two_hours.checkin_closes_at), capture():
        taken = book(place, email="bob@example.org", start=ELEVEN)
    assert taken.state == ReservationState.PENDING
    first = reload(two_hours)
    assert first.state == ReservationState.NO_SHOW
    assert first.ended_at == taken.created_at == two_hours.checkin_closes_at
    assert entries_for(first).filter(action="reservation.no_show").count() == 1
    assert OutboxMessage.objects.filter(reservation=first, cause="reservation.no_show").count() == 1
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.org", "bob@example.org"]
    with at(two_hours.checkin_closes_at + timedelta(minutes=1)):
        assert sweep_no_shows() == 0


def test_the_no_show_belongs_to_the_booking_transaction(two_hours, place):
    """A booking refused after the expiry step (bob already holds that hour elsewhere) rolls
    the no-show back with it; the place still reads as free and the sweep records it."""
    elsewhere = ResourceFactory(area=place.area)
    book_confirmed(elsewhere, email="bob@example.org", start=ELEVEN)
    with at(two_hours.checkin_closes_at), pytest.raises(DomainError) as caught:
        book(place, email="bob@example.org", start=ELEVEN)
    assert caught.value.code == "patron_overlap"
    assert reload(two_hours).state == ReservationState.CONFIRMED
    assert not entries_for(two_hours).filter(action="reservation.no_show").exists()
    with at(two_hours.checkin_closes_at):
        assert _cell(place, ELEVEN).free
        assert sweep_no_shows() == 1
    assert reload(two_hours).state == ReservationState.NO_SHOW


def test_one_second_before_the_close_the_place_is_still_taken(two_hours, place):
    with at(two_hours.checkin_closes_at - SECOND), pytest.raises(DomainError) as caught:
        book(place, email="bob@example.org", start=ELEVEN)
    assert caught.value.code == "slot_taken"
    assert reload(two_hours).state == ReservationState.CONFIRMED
