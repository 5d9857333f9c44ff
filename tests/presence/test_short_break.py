"""A short break: a checked-in patron steps out and keeps the place until the break ends
(30 minutes by default); validating presence again (QR code, code, entrance screen, desk)
before then is coming back. Not back in time, the place is released at the break's end,
without waiting for the sweep (I5), and an e-mail says why. One break per reservation."""

from datetime import timedelta

import pytest
from django.core import mail

from strapontin.core.audit import entries_for
from strapontin.core.errors import DomainError
from strapontin.reservations import selectors
from strapontin.reservations.integrity import find_violations
from strapontin.reservations.models import (
    CancelCause,
    CheckinMethod,
    OutboxMessage,
    ReservationState,
)
from strapontin.reservations.presence import (
    check_in_with_code,
    reservation_check_in,
    reservation_check_in_at_desk,
    reservation_leave_early,
    reservation_start_break,
)
from strapontin.reservations.sweeps import run_sweeps, sweep_lapsed_breaks
from tests.conftest import paris
from tests.factories import BookingPolicyFactory, UserFactory
from tests.presence.conftest import SECOND, TUESDAY_10, at, book, book_confirmed, reload

pytestmark = pytest.mark.usefixtures("clock")

TEN_TWENTY = paris(2026, 3, 3, 10, 20)
TEN_FIFTY = paris(2026, 3, 3, 10, 50)
ELEVEN = paris(2026, 3, 3, 11, 0)


@pytest.fixture
def checked_in(place):
    reservation = book_confirmed(place, minutes=120)  # 10:00–12:00
    with at(TUESDAY_10 + timedelta(minutes=5)):
        reservation_check_in(
            reservation=reservation, method=CheckinMethod.QR, actor="alice@example.org"
        )
    mail.outbox.clear()
    return reservation


@pytest.fixture
def on_break(checked_in):
    """On a break from 10:20 until 10:50."""
    with at(TEN_TWENTY):
        reservation_start_break(reservation=checked_in, actor="alice@example.org")
    return reload(checked_in)


def _cell(place, start):
    grid = selectors.day_grid(place.establishment, start.date(), selectors.GridFilters())
    (row,) = [r for r in grid.rows if r.resource.pk == place.pk]
    (cell,) = [c for c in row.cells if c.start == start]
    return row, cell


def test_a_break_keeps_the_place_for_thirty_minutes_by_default(on_break):
    assert on_break.state == ReservationState.ON_BREAK
    assert on_break.break_ends_at == TEN_FIFTY
    entry = entries_for(on_break).get(action="reservation.break_started")
    assert entry.actor_label == "alice@example.org"
    assert mail.outbox == []


def test_the_break_lasts_what_the_policy_says(checked_in, place):
    BookingPolicyFactory(establishment=place.establishment, break_max_minutes=10)
    with at(TEN_TWENTY):
        paused = reservation_start_break(reservation=checked_in, actor="alice@example.org")
    assert paused.break_ends_at == TEN_TWENTY + timedelta(minutes=10)


def test_coming_back_with_the_establishment_code_keeps_the_place(on_break, place):
    with at(TEN_FIFTY - SECOND):
        back = check_in_with_code(
            establishment=place.establishment,
            code=place.establishment.checkin_code,
            email="alice@example.org",
        )
    assert back.pk == on_break.pk
    stored = reload(on_break)
    assert stored.state == ReservationState.CHECKED_IN
    entry = entries_for(on_break).get(action="reservation.back_from_break")
    assert entry.data == {"method": CheckinMethod.CODE}
    with at(TEN_FIFTY + timedelta(minutes=5)):
        assert sweep_lapsed_breaks() == 0
        row, cell = _cell(place, ELEVEN)
        assert not cell.free
        assert row.break_until is None
    assert find_violations() == []


def test_the_desk_can_validate_the_return(on_break):
    with at(TEN_FIFTY - timedelta(minutes=10)):
        reservation_check_in_at_desk(reservation=on_break, user=UserFactory(is_staff=True))
    assert reload(on_break).state == ReservationState.CHECKED_IN


def test_a_repeated_request_during_the_break_changes_nothing(on_break):
    with at(TEN_TWENTY + timedelta(minutes=5)):
        again = reservation_start_break(reservation=on_break, actor="alice@example.org")
    assert again.break_ends_at == TEN_FIFTY
    assert entries_for(on_break).filter(action="reservation.break_started").count() == 1


def test_one_break_per_reservation(on_break):
    with at(TEN_FIFTY - SECOND):
        reservation_check_in(reservation=on_break, method=CheckinMethod.QR, actor="alice")
    with at(TEN_FIFTY + timedelta(minutes=5)), pytest.raises(DomainError) as caught:
        reservation_start_break(reservation=on_break, actor="alice@example.org")
    assert caught.value.code == "break_already_taken"


@pytest.mark.parametrize(
    ("moment", "code"),
    [
        (paris(2026, 3, 3, 11, 30), "break_too_late"),  # it would end at 12:00, with the slot
        (paris(2026, 3, 3, 12, 0), "not_checked_in"),  # over
    ],
)
def test_no_break_that_would_outlast_the_reservation(checked_in, moment, code):
    with at(moment), pytest.raises(DomainError) as caught:
        reservation_start_break(reservation=checked_in, actor="alice@example.org")
    assert caught.value.code == code


def test_only_a_patron_present_can_take_a_break(place):
    confirmed = book_confirmed(place)
    with at(TUESDAY_10), pytest.raises(DomainError) as caught:
        reservation_start_break(reservation=confirmed, actor="alice@example.org")
    assert caught.value.code == "not_checked_in"


def test_an_establishment_can_offer_no_breaks(checked_in, place):
    BookingPolicyFactory(establishment=place.establishment, break_max_minutes=0)
    with at(TEN_TWENTY), pytest.raises(DomainError) as caught:
        reservation_start_break(reservation=checked_in, actor="alice@example.org")
    assert caught.value.code == "breaks_not_allowed"
    assert reload(checked_in).state == ReservationState.CHECKED_IN


def test_the_grid_says_until_when_and_frees_the_place_when_the_break_ends(on_break, place):
    with at(TEN_FIFTY - SECOND):
        row, cell = _cell(place, ELEVEN)
        assert not cell.free
        assert cell.break_until == TEN_FIFTY
        assert row.break_until == TEN_FIFTY
    with at(TEN_FIFTY):
        row, cell = _cell(place, ELEVEN)
        assert cell.selectable
        assert row.break_until is None
    # Only the reading changed: nothing was written before a booking or a sweep.
    assert reload(on_break).state == ReservationState.ON_BREAK


def test_booking_the_place_when_the_break_ends_releases_it_in_that_transaction(
    on_break, place, capture
):
    with at(TEN_FIFTY), capture():
        taken = book(place, email="bob@example.org", start=ELEVEN)
    assert taken.state == ReservationState.PENDING
    released = reload(on_break)
    assert released.state == ReservationState.RELEASED
    assert released.cancel_cause == CancelCause.BREAK_OVER
    assert released.ended_at == TEN_FIFTY
    assert entries_for(released).filter(action="reservation.break_over").count() == 1
    assert (
        OutboxMessage.objects.filter(reservation=released, cause="reservation.break_over").count()
        == 1
    )
    with at(TEN_FIFTY + timedelta(minutes=1)):
        assert sweep_lapsed_breaks() == 0
    assert find_violations() == []


def test_the_sweep_releases_a_lapsed_break_once_and_the_email_says_why(on_break, capture):
    with at(TEN_FIFTY - SECOND):
        assert sweep_lapsed_breaks() == 0
    with at(TEN_FIFTY + SECOND), capture():
        assert run_sweeps()["break_over"] == 1
        assert sweep_lapsed_breaks() == 0
    assert reload(on_break).state == ReservationState.RELEASED
    (message,) = mail.outbox
    assert message.to == ["alice@example.org"]
    assert "pause" in message.body
    assert "10:50" in message.body
    assert find_violations() == []


def test_coming_back_too_late_says_so_and_the_place_is_gone(on_break, place):
    with at(TEN_FIFTY), pytest.raises(DomainError) as caught:
        check_in_with_code(
            establishment=place.establishment,
            code=place.establishment.checkin_code,
            email="alice@example.org",
        )
    assert caught.value.code == "break_over"
    assert reload(on_break).state == ReservationState.RELEASED
    assert selectors.effective_state(reload(on_break)) == ReservationState.RELEASED


def test_leaving_for_good_during_the_break_frees_the_place(on_break):
    with at(TEN_TWENTY + timedelta(minutes=5)):
        released = reservation_leave_early(reservation=on_break)
    assert released.state == ReservationState.RELEASED
    assert released.cancel_cause == ""
    assert entries_for(on_break).filter(action="reservation.released").count() == 1
    assert find_violations() == []


def test_the_live_figures_count_the_patron_on_a_break_apart(on_break, place):
    with at(TEN_TWENTY + timedelta(minutes=5)):
        figures = selectors.occupancy_now(place.establishment)
    assert (figures.present, figures.on_break, figures.expected, figures.free_now) == (0, 1, 0, 0)
