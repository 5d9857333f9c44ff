"""The waitlist with a hold: a freed place is held for the oldest matching request, taken in
one tap, and passed on when it lapses or is declined; deadlines need no worker (I5)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import TestCase

from strapontin.core.errors import DomainError
from strapontin.reservations import presence, services, waitlist
from strapontin.reservations.integrity import find_violations
from strapontin.reservations.models import (
    CheckinMethod,
    OutboxMessage,
    Reservation,
    ReservationState,
    WaitlistRequest,
    WaitlistState,
)
from strapontin.reservations.sweeps import run_sweeps, sweep_offers, sweep_waitlist
from strapontin.venues.models import Feature
from tests.factories import AreaFactory, ResourceFactory
from tests.waitlist.conftest import TUESDAY_10, ask, book_confirmed

S = ReservationState
W = WaitlistState


def cancel(reservation: Reservation) -> None:
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.reservation_cancel_by_patron(reservation=reservation)


def offer_of(request: WaitlistRequest) -> Reservation:
    request.refresh_from_db()
    assert request.state == W.OFFERED, request.state
    assert request.offer is not None
    return request.offer


def test_a_freed_place_is_held_for_the_oldest_matching_request_with_a_link_to_take_it(place, taken):
    first = ask(place, "first@example.org")
    second = ask(place, "second@example.org")
    assert first
    assert second
    mail.outbox.clear()
    cancel(taken)

    offer = offer_of(first)
    assert (offer.resource, offer.start, offer.state) == (place, TUESDAY_10, S.OFFERED)
    assert offer.offer_deadline == offer.created_at + timedelta(minutes=10)
    second.refresh_from_db()
    assert second.state == W.WAITING
    sent = [m for m in mail.outbox if m.to == ["first@example.org"]]
    assert len(sent) == 1
    assert "/place-gardee/" in sent[0].body
    # Held: nobody else can book it, and the grid shows it taken.
    with pytest.raises(DomainError) as refused:
        services.reservation_create(
            resource=place, email="late@example.org", start=TUESDAY_10, end=offer.end
        )
    assert refused.value.code == "slot_taken"
    assert find_violations() == []


def test_taking_the_held_place_confirms_it_and_verifies_the_address(place, taken):
    request = ask(place, "first@example.org")
    assert request
    cancel(taken)
    with TestCase.captureOnCommitCallbacks(execute=True):
        taken_offer = waitlist.offer_take(reservation=offer_of(request))
    assert taken_offer.state == S.CONFIRMED
    assert taken_offer.patron.is_verified
    request.refresh_from_db()
    assert request.state == W.BOOKED
    assert OutboxMessage.objects.filter(reservation=taken_offer, cause="reservation.confirmed")
    # Taking twice is a no-op.
    assert waitlist.offer_take(reservation=taken_offer).state == S.CONFIRMED
    assert find_violations() == []


def test_an_offer_not_taken_in_time_is_free_at_once_then_goes_to_the_next_then_to_everyone(
    place, taken, clock
):
    first = ask(place, "first@example.org")
    second = ask(place, "second@example.org")
    assert first
    assert second
    cancel(taken)
    offer = offer_of(first)
    clock.shift(timedelta(minutes=10))
    # I5: past its deadline the hold is over, before any sweep.
    assert not services._place_is_taken(place, offer.start, offer.end, services.now())
    with pytest.raises(DomainError) as lapsed:
        waitlist.offer_take(reservation=offer)
    assert lapsed.value.code == "offer_lapsed"
    first.refresh_from_db()
    assert first.state == W.LAPSED
    next_offer = offer_of(second)
    clock.shift(timedelta(minutes=10))
    assert sweep_offers() == 1
    assert sweep_offers() == 0
    second.refresh_from_db()
    assert second.state == W.LAPSED
    assert Reservation.objects.get(pk=next_offer.pk).state == S.EXPIRED
    assert not Reservation.objects.filter(resource=place, state=S.OFFERED).exists()
    assert find_violations() == []


def test_declining_passes_the_place_to_the_next_request_at_once(place, taken):
    first = ask(place, "first@example.org")
    second = ask(place, "second@example.org")
    assert first
    assert second
    cancel(taken)
    declined = waitlist.offer_decline(reservation=offer_of(first))
    assert declined.state == S.CANCELLED
    assert offer_of(second).patron.email == "second@example.org"
    assert find_violations() == []


def test_booking_a_place_whose_hold_ran_out_lapses_the_hold_without_passing_it_on(
    place, taken, clock
):
    first = ask(place, "first@example.org")
    second = ask(place, "second@example.org")
    assert first
    assert second
    cancel(taken)
    offer = offer_of(first)
    clock.shift(timedelta(minutes=11))
    booked = book_confirmed(place, "walker@example.org")
    assert booked.state == S.CONFIRMED
    assert Reservation.objects.get(pk=offer.pk).state == S.EXPIRED
    second.refresh_from_db()
    assert second.state == W.WAITING
    assert find_violations() == []


def test_only_requests_matching_area_features_and_time_are_offered_the_place(place, taken):
    power = Feature.objects.create(code="power", name_fr="Prise", name_en="Power")
    elsewhere = AreaFactory(establishment=place.establishment)
    ResourceFactory(area=elsewhere).features.add(power)
    wants_power = ask(place, "power@example.org", features=("power",))
    wants_elsewhere = ask(place, "area@example.org", area=elsewhere)
    later = ask(place, "later@example.org", start=TUESDAY_10 + timedelta(hours=2))
    fits = ask(place, "fits@example.org", area=place.area)
    cancel(taken)
    for unmatched in (wants_power, wants_elsewhere, later):
        assert unmatched
        unmatched.refresh_from_db()
        assert unmatched.state == W.WAITING
    assert fits
    assert offer_of(fits).resource == place


def test_every_transition_that_frees_a_place_offers_it(place, clock):
    """No-show, expiry and leaving early give the place back as cancelling does."""
    confirmed = book_confirmed(place, "noshow@example.org", minutes=120)
    no_show_request = ask(place, "a@example.org", start=TUESDAY_10 + timedelta(hours=1))
    clock.move_to(confirmed.checkin_closes_at)
    run_sweeps()
    assert no_show_request
    assert offer_of(no_show_request).start == TUESDAY_10 + timedelta(hours=1)

    later = TUESDAY_10 + timedelta(hours=3)
    present = book_confirmed(place, "present@example.org", start=later, minutes=120)
    leave_request = ask(place, "b@example.org", start=later + timedelta(hours=1))
    clock.move_to(later + timedelta(minutes=5))
    presence.reservation_check_in(reservation=present, method=CheckinMethod.DESK, actor="desk")
    presence.reservation_leave_early(reservation=present)
    assert leave_request
    assert offer_of(leave_request).start == later + timedelta(hours=1)
    assert find_violations() == []


def test_an_unconfirmed_reservation_that_expires_frees_its_place_for_the_waitlist(place, clock):
    pending = services.reservation_create(
        resource=place,
        email="new@example.org",
        start=TUESDAY_10,
        end=TUESDAY_10 + timedelta(hours=1),
    )
    assert pending.state == S.PENDING
    request = ask(place, "a@example.org")
    clock.move_to(pending.confirmation_deadline)
    run_sweeps()
    assert request
    assert offer_of(request).resource == place


def test_one_inbox_keeps_three_requests_in_line_aliases_included_and_is_told_nothing_more(
    place, clock
):
    for hour in range(3):
        assert ask(place, f"ada+{hour}@example.org", start=TUESDAY_10 + timedelta(hours=hour))
    assert ask(place, "ada@example.org", start=TUESDAY_10 + timedelta(hours=4)) is None
    assert WaitlistRequest.objects.count() == 3


def test_a_wish_outside_the_hours_or_off_the_grid_is_refused_with_its_code(place, clock):
    with pytest.raises(DomainError) as off:
        ask(place, "a@example.org", start=TUESDAY_10 + timedelta(minutes=10))
    assert off.value.code == "off_grid"
    with pytest.raises(DomainError) as closed:
        ask(place, "a@example.org", start=TUESDAY_10.replace(hour=23))
    assert closed.value.code == "outside_opening_hours"


def test_a_request_leaves_the_line_when_its_time_begins(place, clock):
    request = ask(place, "a@example.org")
    assert request
    clock.move_to(TUESDAY_10)
    assert sweep_waitlist() == 1
    assert sweep_waitlist() == 0
    request.refresh_from_db()
    assert request.state == W.EXPIRED


def test_leaving_the_waitlist_while_a_place_is_held_passes_it_on(place, taken):
    first = ask(place, "first@example.org")
    second = ask(place, "second@example.org")
    assert first
    assert second
    cancel(taken)
    offer = offer_of(first)
    left = waitlist.waitlist_request_cancel(request=first)
    assert left.state == W.CANCELLED
    assert Reservation.objects.get(pk=offer.pk).state == S.CANCELLED
    assert offer_of(second).resource == place
    assert find_violations() == []


def test_a_patron_with_a_reservation_at_that_time_is_not_offered_a_second_place(place, taken):
    other = ResourceFactory(area=place.area)
    book_confirmed(other, "busy@example.org")
    busy = ask(place, "busy@example.org")
    free = ask(place, "free@example.org")
    cancel(taken)
    assert busy
    assert free
    busy.refresh_from_db()
    assert busy.state == W.WAITING
    assert offer_of(free).patron.email == "free@example.org"


def test_my_data_lists_my_requests_and_deleting_my_account_leaves_the_line(place, taken):
    from strapontin.reservations.privacy import patron_erase, patron_export

    first = ask(place, "first@example.org")
    second = ask(place, "second@example.org")
    assert first
    assert second
    cancel(taken)
    offer = offer_of(first)
    exported = patron_export(patron=first.patron)
    assert [w["reference"] for w in exported["waitlist"]] == [first.reference]
    assert "waitlist.requested" in {e["action"] for e in exported["journal"]}
    patron_erase(patron=first.patron)
    first.refresh_from_db()
    assert first.state == W.CANCELLED
    assert Reservation.objects.get(pk=offer.pk).state == S.CANCELLED
    assert offer_of(second).resource == place
    assert find_violations() == []
