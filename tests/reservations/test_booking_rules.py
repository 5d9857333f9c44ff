"""Each rule of reservation_create (I1–I3, I5), asserted by its error code."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from strapontin.core.errors import DomainError
from strapontin.reservations import services
from strapontin.reservations.models import Patron, Reservation, ReservationState
from strapontin.venues.models import BookingPolicy, ConfirmationMode, ScheduleException
from tests.conftest import paris
from tests.factories import ResourceFactory

pytestmark = pytest.mark.usefixtures("clock")

TUESDAY_10 = paris(2026, 3, 3, 10, 0)
TUESDAY_11 = paris(2026, 3, 3, 11, 0)


def book(place, email="alice@example.org", start=TUESDAY_10, end=TUESDAY_11, **kwargs):
    return services.reservation_create(resource=place, email=email, start=start, end=end, **kwargs)


def code_of(callable_, *args, **kwargs) -> str:
    with pytest.raises(DomainError) as caught:
        callable_(*args, **kwargs)
    return caught.value.code


def test_first_reservation_of_an_address_waits_for_confirmation_for_two_hours(place):
    reservation = book(place)
    assert reservation.state == ReservationState.PENDING
    assert reservation.confirmation_deadline == paris(2026, 3, 2, 11, 0)


def test_confirmation_deadline_is_never_later_than_the_start(place):
    reservation = book(place, start=paris(2026, 3, 2, 10, 0), end=paris(2026, 3, 2, 11, 0))
    assert reservation.confirmation_deadline == paris(2026, 3, 2, 10, 0)


def test_second_booking_of_a_verified_address_needs_no_confirmation(place):
    first = book(place)
    confirmed = services.reservation_confirm(reservation=first)
    second = book(
        ResourceFactory(area=place.area),
        start=paris(2026, 3, 4, 10, 0),
        end=paris(2026, 3, 4, 11, 0),
        known_patron_id=confirmed.patron_id,
    )
    assert second.state == ReservationState.CONFIRMED
    assert second.confirmation_deadline is None


def test_a_verified_address_booked_by_someone_who_did_not_prove_it_is_asked_to_confirm(place):
    """Else a stranger would learn the address is a patron's, and could book in its name
    confirmed reservations that end in no-shows and a suspension."""
    services.reservation_confirm(reservation=book(place))
    second = book(
        ResourceFactory(area=place.area),
        start=paris(2026, 3, 4, 10, 0),
        end=paris(2026, 3, 4, 11, 0),
    )
    assert second.state == ReservationState.PENDING


def test_address_is_normalised_so_case_does_not_make_a_new_patron(place):
    book(place, email="  Alice@Example.ORG ")
    book(
        ResourceFactory(area=place.area),
        email="alice@example.org",
        start=paris(2026, 3, 4, 10, 0),
        end=paris(2026, 3, 4, 11, 0),
    )
    assert Patron.objects.get().email == "alice@example.org"


def test_always_mode_asks_confirmation_even_of_a_verified_address(place):
    BookingPolicy.objects.create(
        establishment=place.establishment, confirmation_mode=ConfirmationMode.ALWAYS
    )
    Patron.objects.create(email="alice@example.org", verified_at=paris(2026, 1, 1, 0, 0))
    assert book(place).state == ReservationState.PENDING


def test_a_verified_address_is_spared_confirmation_only_on_the_browser_it_proved(place):
    BookingPolicy.objects.create(
        establishment=place.establishment, confirmation_mode=ConfirmationMode.FIRST_RESERVATION
    )
    patron = Patron.objects.create(email="alice@example.org", verified_at=paris(2026, 1, 1, 0, 0))
    assert book(place).state == ReservationState.PENDING
    other = ResourceFactory(area=place.area)
    known = book(
        other,
        start=paris(2026, 3, 4, 10, 0),
        end=paris(2026, 3, 4, 11, 0),
        known_patron_id=patron.pk,
    )
    assert known.state == ReservationState.CONFIRMED


def test_a_taken_slot_is_refused(place):
    book(place)
    assert code_of(book, place, email="bob@example.org") == "slot_taken"


def test_adjacent_reservations_do_not_overlap(place):
    book(place)
    after = book(place, email="bob@example.org", start=TUESDAY_11, end=paris(2026, 3, 3, 12, 0))
    assert after.state == ReservationState.PENDING


def test_partly_overlapping_slot_is_refused(place):
    book(place)
    assert (
        code_of(
            book,
            place,
            email="bob@example.org",
            start=paris(2026, 3, 3, 10, 30),
            end=paris(2026, 3, 3, 11, 30),
        )
        == "slot_taken"
    )


def test_unconfirmed_reservation_past_its_deadline_never_blocks_the_place(place):
    stale = book(place, start=paris(2026, 3, 2, 14, 0), end=paris(2026, 3, 2, 15, 0))
    with time_machine.travel(
        paris(
            2026,
            3,
            2,
            11,
            0,
        ),
        tick=False,
    ):
        # Deadline (11:00) reached, no sweep has run: the place is free and booking it
        # expires the stale reservation in the same transaction (I5).
        fresh = book(place, email="bob@example.org", start=stale.start, end=stale.end)
    stale.refresh_from_db()
    assert stale.state == ReservationState.EXPIRED
    assert fresh.state == ReservationState.PENDING


def test_one_patron_cannot_hold_two_overlapping_reservations(place):
    book(place)
    other = ResourceFactory(area=place.area)
    assert code_of(book, other) == "patron_overlap"


def test_limit_per_day_holds(place):
    BookingPolicy.objects.create(establishment=place.establishment, max_per_day=2)
    book(place, start=paris(2026, 3, 3, 8, 0), end=paris(2026, 3, 3, 9, 0))
    book(place, start=paris(2026, 3, 3, 12, 0), end=paris(2026, 3, 3, 13, 0))
    assert (
        code_of(book, place, start=paris(2026, 3, 3, 15, 0), end=paris(2026, 3, 3, 16, 0))
        == "limit_reached"
    )


def test_limit_per_week_holds_and_a_new_week_starts_on_monday(place):
    BookingPolicy.objects.create(
        establishment=place.establishment, max_per_week=2, horizon_days=14, max_pending_per_patron=5
    )
    book(place, start=paris(2026, 3, 3, 8, 0), end=paris(2026, 3, 3, 9, 0))
    book(place, start=paris(2026, 3, 4, 8, 0), end=paris(2026, 3, 4, 9, 0))
    assert (
        code_of(book, place, start=paris(2026, 3, 8, 8, 0), end=paris(2026, 3, 8, 9, 0))
        == "limit_reached"
    )
    assert book(place, start=paris(2026, 3, 9, 8, 0), end=paris(2026, 3, 9, 9, 0)).pk


def test_cancelled_reservations_do_not_count_towards_limits(place):
    BookingPolicy.objects.create(establishment=place.establishment, max_per_day=1)
    first = book(place)
    services.reservation_cancel_by_patron(reservation=first)
    assert book(place).state == ReservationState.PENDING


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        (paris(2026, 3, 2, 8, 0), paris(2026, 3, 2, 9, 0), "slot_in_past"),
        (paris(2026, 3, 2, 9, 0), paris(2026, 3, 2, 10, 0), "slot_in_past"),
        (paris(2026, 3, 3, 7, 0), paris(2026, 3, 3, 8, 0), "outside_opening_hours"),
        (paris(2026, 3, 3, 21, 30), paris(2026, 3, 3, 22, 30), "outside_opening_hours"),
        (paris(2026, 3, 3, 10, 15), paris(2026, 3, 3, 11, 15), "off_grid"),
        (paris(2026, 3, 3, 10, 0), paris(2026, 3, 3, 10, 30), "too_short"),
        (paris(2026, 3, 3, 10, 0), paris(2026, 3, 3, 14, 30), "too_long"),
        (paris(2026, 3, 3, 11, 0), paris(2026, 3, 3, 10, 0), "invalid_interval"),
        (paris(2026, 3, 10, 10, 0), paris(2026, 3, 10, 11, 0), "beyond_horizon"),
    ],
)
def test_slot_rules(place, start, end, code):
    assert code_of(book, place, start=start, end=end) == code
    assert not Reservation.objects.exists()


def test_horizon_last_day_opens_at_the_policy_hour(place):
    BookingPolicy.objects.create(
        establishment=place.establishment,
        horizon_days=7,
        day_opens_at=paris(2026, 1, 1, 10, 0).time(),
    )
    monday_next = (paris(2026, 3, 9, 10, 0), paris(2026, 3, 9, 11, 0))
    assert code_of(book, place, start=monday_next[0], end=monday_next[1]) == "beyond_horizon"
    with time_machine.travel(paris(2026, 3, 2, 10, 0), tick=False):
        assert book(place, start=monday_next[0], end=monday_next[1]).pk


def test_closed_day_refuses_with_the_reason(place):
    ScheduleException.objects.create(
        establishment=place.establishment,
        date=TUESDAY_10.date(),
        is_closed=True,
        reason="Inventaire",
    )
    with pytest.raises(DomainError) as caught:
        book(place)
    assert caught.value.code == "outside_opening_hours"
    assert "Inventaire" in caught.value.message


def test_special_hours_replace_the_week(place):
    ScheduleException.objects.create(
        establishment=place.establishment,
        date=TUESDAY_10.date(),
        is_closed=False,
        opens=paris(2026, 1, 1, 12, 0).time(),
        closes=paris(2026, 1, 1, 16, 0).time(),
        reason="Journée",
    )
    assert code_of(book, place) == "outside_opening_hours"
    assert book(place, start=paris(2026, 3, 3, 12, 0), end=paris(2026, 3, 3, 13, 0)).pk


@pytest.mark.parametrize("email", ["", "not-an-address", "a@b", "x" * 300 + "@example.org"])
def test_invalid_address_is_refused(place, email):
    assert code_of(book, place, email=email) == "invalid_email"


def test_inactive_place_cannot_be_booked(place):
    place.is_active = False
    place.save()
    assert code_of(book, place) == "not_found"


def test_booking_writes_the_audit_entry_and_the_email_in_one_go(
    place, django_capture_on_commit_callbacks
):
    from strapontin.core.audit import entries_for

    with django_capture_on_commit_callbacks(execute=True):
        reservation = book(place)
    assert [e.action for e in entries_for(reservation)] == ["reservation.requested"]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["alice@example.org"]


def test_a_refused_booking_leaves_nothing_behind(place):
    book(place)
    before = (Reservation.objects.count(), Patron.objects.count())
    with pytest.raises(DomainError):
        book(place, email="carol@example.org")
    # The patron row created inside the refused transaction is rolled back too.
    assert (Reservation.objects.count(), Patron.objects.count()) == before


def test_durations_are_real_elapsed_time_on_a_dst_day(place):
    """29 March 2026: clocks go forward at 02:00; a 10:00–11:00 slot is still one hour."""
    BookingPolicy.objects.create(establishment=place.establishment, horizon_days=30)
    start, end = paris(2026, 3, 29, 10, 0), paris(2026, 3, 29, 11, 0)
    assert end - start == timedelta(hours=1)
    reservation = book(place, start=start, end=end)
    assert reservation.start.utcoffset() is not None


def test_the_desk_books_a_walk_in_for_the_slot_under_way_without_confirmation(place):
    from django.contrib.auth import get_user_model

    from strapontin.core.audit import entries_for

    agent = get_user_model().objects.create_user("accueil", is_staff=True)
    with time_machine.travel(paris(2026, 3, 2, 9, 10), tick=False):
        walk_in = book(
            place,
            email="new@example.org",
            start=paris(2026, 3, 2, 9, 0),
            end=paris(2026, 3, 2, 10, 0),
            booked_by=agent,
        )
    assert walk_in.state == ReservationState.CONFIRMED
    entry = entries_for(walk_in).get()
    assert (entry.action, entry.actor) == ("reservation.booked_at_desk", agent)
    # A patron cannot book the slot under way, and the desk cannot book an earlier one.
    with time_machine.travel(paris(2026, 3, 2, 9, 10), tick=False):
        patron_code = code_of(
            book,
            ResourceFactory(area=place.area),
            email="x@example.org",
            start=paris(2026, 3, 2, 9, 0),
            end=paris(2026, 3, 2, 10, 0),
        )
        desk_code = code_of(
            book,
            ResourceFactory(area=place.area),
            email="y@example.org",
            start=paris(2026, 3, 2, 8, 30),
            end=paris(2026, 3, 2, 9, 30),
            booked_by=agent,
        )
    assert (patron_code, desk_code) == ("slot_in_past", "slot_in_past")
