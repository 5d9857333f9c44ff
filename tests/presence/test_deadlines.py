"""Deadlines at their exact edges, beyond tests/reservations/test_transitions.py (which has
confirm at deadline − 1 s and + 1 s and the expiry sweep): confirming exactly at the deadline,
the single-reservation transitions of the sweeps, what patrons and the grid read, and the
no-show sweep around the window's close."""

from datetime import timedelta

import pytest
from django.core import mail

from strapontin.core.audit import entries_for
from strapontin.core.errors import DomainError
from strapontin.reservations import selectors, services
from strapontin.reservations.models import CheckinMethod, OutboxMessage, ReservationState
from strapontin.reservations.presence import reservation_check_in
from strapontin.reservations.sweeps import sweep_no_shows, sweep_unconfirmed
from strapontin.venues.models import BookingPolicy
from tests.conftest import paris
from tests.presence.conftest import SECOND, TUESDAY_10, at, book, reload

pytestmark = pytest.mark.usefixtures("clock")


# --- Confirmation deadline --------------------------------------------------------------------


def test_the_deadline_is_two_hours_after_booking(pending):
    assert pending.confirmation_deadline == paris(2026, 3, 2, 11, 0)


def test_the_deadline_never_falls_after_the_start(place):
    soon = book(place, start=paris(2026, 3, 2, 10, 0))
    assert soon.confirmation_deadline == soon.start


def test_the_deadline_follows_the_policy(place):
    BookingPolicy.objects.create(
        establishment=place.establishment, confirmation_deadline_minutes=30
    )
    assert book(place).confirmation_deadline == paris(2026, 3, 2, 9, 30)


def test_confirming_exactly_at_the_deadline_is_too_late_and_the_expiry_is_kept(pending, capture):
    mail.outbox.clear()
    with at(pending.confirmation_deadline), capture(), pytest.raises(DomainError) as caught:
        services.reservation_confirm(reservation=pending)
    assert caught.value.code == "confirmation_expired"
    assert reload(pending).state == ReservationState.EXPIRED
    assert [e.action for e in entries_for(pending).order_by("id")] == [
        "reservation.requested",
        "reservation.expired",
    ]
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]


def test_confirming_after_the_sweep_expired_it_says_it_expired(pending):
    with at(pending.confirmation_deadline):
        assert sweep_unconfirmed() == 1
    with at(pending.confirmation_deadline + SECOND), pytest.raises(DomainError) as caught:
        services.reservation_confirm(reservation=pending)
    assert caught.value.code == "confirmation_expired"
    assert entries_for(pending).filter(action="reservation.expired").count() == 1


def test_expiring_one_reservation_waits_for_its_deadline(pending):
    with at(pending.confirmation_deadline - SECOND):
        assert services.reservation_expire_unconfirmed(reservation=pending) is False
    assert reload(pending).state == ReservationState.PENDING
    with at(pending.confirmation_deadline):
        assert services.reservation_expire_unconfirmed(reservation=pending) is True
        assert services.reservation_expire_unconfirmed(reservation=pending) is False
    assert reload(pending).state == ReservationState.EXPIRED
    assert (
        OutboxMessage.objects.filter(reservation=pending, cause="reservation.expired").count() == 1
    )


def test_a_confirmed_reservation_is_never_expired(pending):
    services.reservation_confirm(reservation=pending)
    with at(pending.confirmation_deadline + SECOND):
        assert services.reservation_expire_unconfirmed(reservation=pending) is False
        assert sweep_unconfirmed() == 0
    assert reload(pending).state == ReservationState.CONFIRMED


def test_cancelling_after_the_deadline_records_the_expiry_not_a_cancellation(pending):
    with at(pending.confirmation_deadline + SECOND):
        services.reservation_cancel_by_patron(reservation=pending)
    stored = reload(pending)
    assert (stored.state, stored.cancel_cause) == (ReservationState.EXPIRED, "")
    causes = set(OutboxMessage.objects.filter(reservation=pending).values_list("cause", flat=True))
    assert "reservation.expired" in causes
    assert "reservation.cancelled" not in causes


def test_patrons_read_expired_from_the_deadline_before_any_sweep(pending):
    assert selectors.effective_state(pending, pending.confirmation_deadline - SECOND) == "pending"
    assert selectors.effective_state(pending, pending.confirmation_deadline) == "expired"


def _cell(place, moment):
    grid = selectors.day_grid(place.establishment, moment.date(), selectors.GridFilters())
    (row,) = [r for r in grid.rows if r.resource.pk == place.pk]
    (cell,) = [c for c in row.cells if c.start == moment]
    return cell


def test_an_unconfirmed_place_is_free_from_the_deadline_and_booking_it_expires_the_first(
    pending, place, capture
):
    assert pending.confirmation_deadline == paris(2026, 3, 2, 11, 0)
    with at(pending.confirmation_deadline - SECOND):
        assert not _cell(place, TUESDAY_10).free
        with pytest.raises(DomainError) as caught:
            book(place, email="bob@example.org")
        assert caught.value.code == "slot_taken"
    mail.outbox.clear()
    with at(pending.confirmation_deadline):
        assert _cell(place, TUESDAY_10).selectable
        with capture():
            second = book(place, email="bob@example.org")
    assert second.state == ReservationState.PENDING
    first = reload(pending)
    assert (first.state, first.ended_at) == (ReservationState.EXPIRED, second.created_at)
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@example.org", "bob@example.org"]
    with at(pending.confirmation_deadline + timedelta(minutes=1)):
        assert sweep_unconfirmed() == 0


# --- Check-in window close --------------------------------------------------------------------


def test_the_no_show_sweep_waits_for_the_window_to_close(confirmed, capture):
    mail.outbox.clear()
    with at(confirmed.checkin_closes_at - SECOND), capture():
        assert sweep_no_shows() == 0
        assert services.reservation_mark_no_show(reservation=confirmed) is False
    assert reload(confirmed).state == ReservationState.CONFIRMED
    with at(confirmed.checkin_closes_at), capture():
        assert sweep_no_shows() == 1
        assert sweep_no_shows() == 0
        assert services.reservation_mark_no_show(reservation=confirmed) is False
    stored = reload(confirmed)
    assert (stored.state, stored.ended_at) == (
        ReservationState.NO_SHOW,
        confirmed.checkin_closes_at,
    )
    assert entries_for(confirmed).filter(action="reservation.no_show").count() == 1
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]


def test_a_checked_in_reservation_is_never_marked_no_show(confirmed):
    with at(TUESDAY_10):
        reservation_check_in(
            reservation=confirmed, method=CheckinMethod.DESK, actor="alice@example.org"
        )
    with at(confirmed.checkin_closes_at + timedelta(minutes=5)):
        assert sweep_no_shows() == 0
        assert services.reservation_mark_no_show(reservation=confirmed) is False
    assert reload(confirmed).state == ReservationState.CHECKED_IN


def test_a_sweep_working_from_a_stale_list_leaves_a_late_check_in_alone(confirmed):
    """The sweep listed the reservation, then the patron validated before the sweep locked
    it: the transition re-reads the row and moves on."""
    listed = reload(confirmed)
    with at(confirmed.checkin_closes_at - SECOND):
        reservation_check_in(reservation=confirmed, method=CheckinMethod.QR, actor="alice")
    with at(confirmed.checkin_closes_at):
        assert services.reservation_mark_no_show(reservation=listed) is False
    assert reload(confirmed).state == ReservationState.CHECKED_IN


def test_patrons_read_no_show_from_the_close_of_the_window_before_any_sweep(confirmed):
    closes = confirmed.checkin_closes_at
    assert selectors.effective_state(confirmed, closes - SECOND) == "confirmed"
    assert selectors.effective_state(confirmed, closes) == "no_show"
