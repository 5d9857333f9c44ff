"""Rushes of real HTTP clients on one live server: the database keeps its word (I1, I2).

The negative control runs the same rush with the guard taken away and must see a double
booking: otherwise the rush proves nothing.
"""

from collections import Counter
from datetime import UTC, timedelta

import pytest
from django.db import connection
from pytest_django.live_server_helper import LiveServer

from strapontin.reservations import services
from strapontin.reservations.models import OutboxMessage, Reservation
from strapontin.venues.models import Resource
from tests.concurrency.rush import Booking, holding, rush, tomorrow_at_ten, unexpected
from tests.factories import AreaFactory, ResourceFactory

pytestmark = [pytest.mark.concurrency, pytest.mark.usefixtures("transactional_db")]

RUSH = 32


@pytest.fixture
def place() -> Resource:
    return ResourceFactory()


def test_a_rush_on_one_slot_books_it_once_and_tells_everyone_else_it_is_taken(
    live_server: LiveServer, place: Resource, refusals_under_the_lock: Counter[str]
) -> None:
    start = tomorrow_at_ten()
    bookings = [Booking(place, start, f"patron{i}@example.org") for i in range(RUSH)]

    answers = rush(live_server, bookings)

    statuses = Counter(a.status for a in answers)
    assert unexpected(answers, "slot_taken") == []
    assert statuses == {302: 1, 409: RUSH - 1}
    assert not any("database is locked" in a.body for a in answers)
    assert holding(resource=place) == 1
    winner = Reservation.objects.get(resource=place)
    assert (winner.start, winner.end) == (start.astimezone(UTC), start + timedelta(minutes=60))
    assert OutboxMessage.objects.filter(cause="reservation.confirmation_requested").count() == 1
    # The rush really raced: losers got past the quick check and met the guard under the lock.
    assert refusals_under_the_lock["slot_taken"] >= 1


@pytest.mark.postgresql
def test_on_postgresql_the_exclusion_constraint_alone_books_once(
    live_server: LiveServer, place: Resource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """I1 is the database's: with no lock and no re-check, the constraint still says no, and
    the losers still read "taken", never a 500."""
    real_check = services._place_is_taken
    monkeypatch.setattr(services, "_lock_place", lambda resource: None)
    monkeypatch.setattr(
        services,
        "_place_is_taken",
        lambda *args: not connection.in_atomic_block and real_check(*args),
    )
    bookings = [Booking(place, tomorrow_at_ten(), f"patron{i}@example.org") for i in range(RUSH)]

    answers = rush(live_server, bookings)

    assert unexpected(answers, "slot_taken") == []
    assert Counter(a.status for a in answers) == {302: 1, 409: RUSH - 1}
    assert holding(resource=place) == 1


def test_without_its_guard_the_same_rush_double_books(
    live_server: LiveServer, place: Resource, guard_disabled: None
) -> None:
    """The negative control: the harness can see the failure it is there to catch."""
    bookings = [Booking(place, tomorrow_at_ten(), f"patron{i}@example.org") for i in range(RUSH)]

    answers = rush(live_server, bookings)

    assert all(a.status in (302, 409) for a in answers), unexpected(answers, "slot_taken")
    assert holding(resource=place) >= 2
    assert holding(resource=place) == Counter(a.status for a in answers)[302]


def test_one_patron_rushing_on_many_places_at_one_time_gets_one(
    live_server: LiveServer,
) -> None:
    """I2: twenty tabs, twenty places, the same hour, the same address: one reservation."""
    area = AreaFactory()
    places = ResourceFactory.create_batch(20, area=area)
    start = tomorrow_at_ten()
    bookings = [Booking(p, start, "Same.Patron@example.org") for p in places]

    answers = rush(live_server, bookings)

    assert unexpected(answers, "patron_overlap") == []
    assert Counter(a.status for a in answers) == {302: 1, 409: len(places) - 1}
    assert holding(patron__email="same.patron@example.org") == 1
