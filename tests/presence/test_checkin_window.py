"""The check-in window at its exact edges: it opens N minutes before the start and closes
M minutes after it (defaults 15 and 30, per establishment and per area)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import translation
from django.utils.translation import gettext

from strapontin.core.audit import entries_for
from strapontin.core.errors import DomainError
from strapontin.reservations.models import (
    CheckinMethod,
    OutboxMessage,
    ReservationState,
)
from strapontin.reservations.presence import reservation_check_in
from strapontin.reservations.sweeps import sweep_no_shows
from strapontin.venues.models import BookingPolicy
from tests.conftest import paris
from tests.factories import AreaFactory, ResourceFactory
from tests.presence.conftest import SECOND, TUESDAY_10, at, book, book_confirmed, reload

pytestmark = pytest.mark.usefixtures("clock")

NO_SHOW_WHY = (
    "Your reservation has been cancelled automatically because your presence was not "
    "validated in time. The place went back to the others."
)


def check_in(reservation):
    return reservation_check_in(
        reservation=reservation, method=CheckinMethod.CODE, actor=reservation.patron.email
    )


def test_window_defaults_to_fifteen_minutes_before_and_thirty_after_the_start(confirmed):
    assert confirmed.checkin_opens_at == TUESDAY_10 - timedelta(minutes=15)
    assert confirmed.checkin_closes_at == TUESDAY_10 + timedelta(minutes=30)


def test_check_in_one_second_before_the_window_opens_is_refused_and_says_when(confirmed):
    with at(confirmed.checkin_opens_at - SECOND), pytest.raises(DomainError) as caught:
        check_in(confirmed)
    assert caught.value.code == "checkin_not_open"
    assert "09:45" in caught.value.message
    assert reload(confirmed).state == ReservationState.CONFIRMED
    assert not entries_for(confirmed).filter(action="reservation.checked_in").exists()


def test_check_in_when_the_window_opens_is_accepted_and_records_how(confirmed):
    with at(confirmed.checkin_opens_at):
        checked = check_in(confirmed)
    assert checked.state == ReservationState.CHECKED_IN
    stored = reload(confirmed)
    assert (stored.state, stored.checkin_method) == (ReservationState.CHECKED_IN, "code")
    assert stored.checked_in_at == confirmed.checkin_opens_at
    entry = entries_for(confirmed).get(action="reservation.checked_in")
    assert (entry.actor_label, entry.data) == ("alice@example.org", {"method": "code"})


def test_check_in_one_second_before_the_window_closes_is_accepted(confirmed):
    with at(confirmed.checkin_closes_at - SECOND):
        check_in(confirmed)
    assert reload(confirmed).state == ReservationState.CHECKED_IN


def test_check_in_when_the_window_closes_is_refused_and_the_no_show_is_kept_with_one_email(
    confirmed, capture
):
    mail.outbox.clear()
    with at(confirmed.checkin_closes_at), capture(), pytest.raises(DomainError) as caught:
        check_in(confirmed)
    assert caught.value.code == "checkin_window_closed"
    assert "10:30" in caught.value.message
    stored = reload(confirmed)
    assert stored.state == ReservationState.NO_SHOW
    assert stored.ended_at == confirmed.checkin_closes_at
    assert [e.action for e in entries_for(confirmed).order_by("id")] == [
        "reservation.confirmed",
        "reservation.no_show",
    ]
    assert (
        OutboxMessage.objects.filter(reservation=confirmed, cause="reservation.no_show").count()
        == 1
    )
    (message,) = mail.outbox
    assert message.to == ["alice@example.org"]
    with translation.override("fr"):
        why = gettext(NO_SHOW_WHY)
    assert why in message.body
    # The sweep that comes later finds nothing left to do and sends nothing more.
    with at(confirmed.checkin_closes_at + timedelta(minutes=1)), capture():
        assert sweep_no_shows() == 0
    assert len(mail.outbox) == 1


def test_check_in_after_the_no_show_is_refused_as_no_longer_active(confirmed):
    with at(confirmed.checkin_closes_at), pytest.raises(DomainError):
        check_in(confirmed)
    with at(confirmed.checkin_closes_at + SECOND), pytest.raises(DomainError) as caught:
        check_in(confirmed)
    assert caught.value.code == "not_active"
    assert entries_for(confirmed).filter(action="reservation.no_show").count() == 1


def test_a_repeated_check_in_is_a_no_op_with_one_audit_entry(confirmed):
    with at(TUESDAY_10 - timedelta(minutes=5)):
        first = check_in(confirmed)
    with at(TUESDAY_10 + timedelta(minutes=40)):  # even after the window closed
        again = reservation_check_in(
            reservation=confirmed, method=CheckinMethod.QR, actor="alice@example.org"
        )
    assert again.state == ReservationState.CHECKED_IN
    assert (again.checked_in_at, again.checkin_method) == (first.checked_in_at, "code")
    assert entries_for(confirmed).filter(action="reservation.checked_in").count() == 1


def test_check_in_of_a_pending_reservation_asks_to_confirm_first(clock, place):
    pending = book(place, start=paris(2026, 3, 2, 10, 0))  # deadline: min(11:00, start) = 10:00
    assert pending.confirmation_deadline == paris(2026, 3, 2, 10, 0)
    with at(pending.checkin_opens_at), pytest.raises(DomainError) as caught:
        check_in(pending)
    assert caught.value.code == "not_confirmed"
    assert reload(pending).state == ReservationState.PENDING


def test_check_in_of_a_pending_reservation_past_its_deadline_expires_it(clock, place, capture):
    pending = book(place, start=paris(2026, 3, 2, 10, 0))
    mail.outbox.clear()
    with at(pending.confirmation_deadline), capture(), pytest.raises(DomainError) as caught:
        check_in(pending)
    assert caught.value.code == "confirmation_expired"
    assert reload(pending).state == ReservationState.EXPIRED
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]


def test_a_cancelled_reservation_cannot_be_checked_in(confirmed):
    from strapontin.reservations.services import reservation_cancel_by_patron

    reservation_cancel_by_patron(reservation=confirmed)
    with at(TUESDAY_10), pytest.raises(DomainError) as caught:
        check_in(confirmed)
    assert caught.value.code == "not_active"


def test_an_area_policy_overrides_the_window_of_the_establishment(place):
    establishment = place.establishment
    BookingPolicy.objects.create(
        establishment=establishment,
        checkin_opens_before_minutes=20,
        checkin_closes_after_minutes=40,
    )
    BookingPolicy.objects.create(
        establishment=establishment,
        area=place.area,
        checkin_opens_before_minutes=5,
        checkin_closes_after_minutes=10,
    )
    elsewhere = ResourceFactory(area=AreaFactory(establishment=establishment))
    here = book_confirmed(place)
    there = book_confirmed(elsewhere, email="bob@example.org")
    assert (here.checkin_opens_at, here.checkin_closes_at) == (
        TUESDAY_10 - timedelta(minutes=5),
        TUESDAY_10 + timedelta(minutes=10),
    )
    assert (there.checkin_opens_at, there.checkin_closes_at) == (
        TUESDAY_10 - timedelta(minutes=20),
        TUESDAY_10 + timedelta(minutes=40),
    )
    with at(TUESDAY_10 - timedelta(minutes=5) - SECOND), pytest.raises(DomainError) as caught:
        check_in(here)
    assert caught.value.code == "checkin_not_open"
    with at(TUESDAY_10 + timedelta(minutes=10)), pytest.raises(DomainError) as caught:
        check_in(here)
    assert caught.value.code == "checkin_window_closed"
    with at(TUESDAY_10 + timedelta(minutes=10)):
        assert check_in(there).state == ReservationState.CHECKED_IN


def test_the_window_never_closes_after_the_end_of_the_reservation(place):
    BookingPolicy.objects.create(
        establishment=place.establishment, area=place.area, checkin_closes_after_minutes=90
    )
    reservation = book_confirmed(place)
    assert reservation.checkin_closes_at == reservation.end
    with at(reservation.end - SECOND):
        assert check_in(reservation).state == ReservationState.CHECKED_IN
