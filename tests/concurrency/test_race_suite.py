"""The race suite: 64 concurrent clients on a live server, over a mix of contested and free
place-slots, then one patron's 20 parallel requests against their limits; each with its
negative control (the guard taken away), which must see the failure the rush is there to
catch. On SQLite and PostgreSQL.

The mix, on one floor, tomorrow:
- 6 contested slots, 6 clients each, the same hour on one place;
- 1 contested place where 3 clients want 10:00–11:00 and 3 want 10:30–11:30 (they overlap);
- 22 free slots, one client each, among them 15:00–16:00 on a contested place (half-open
  intervals: it touches 14:00–15:00 and takes nothing from it).
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from django.db import connection
from pytest_django.live_server_helper import LiveServer

from strapontin.core.clock import now
from strapontin.reservations import services
from strapontin.reservations.integrity import find_violations
from strapontin.reservations.models import (
    HOLDING_STATES,
    OutboxMessage,
    Patron,
    Reservation,
)
from strapontin.venues.models import Resource
from strapontin.venues.schedule import local_date
from tests.concurrency.rush import (
    Answer,
    Booking,
    FirstArrivals,
    rush,
    tomorrow_at_ten,
    unexpected,
)
from tests.conftest import PARIS
from tests.factories import AreaFactory, BookingPolicyFactory, ResourceFactory

pytestmark = [pytest.mark.concurrency, pytest.mark.usefixtures("transactional_db")]

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Group:
    """Clients after one place-slot (contested: more than one of them)."""

    place: Resource
    bookings: list[Booking]


def the_mix() -> list[Group]:
    places = ResourceFactory.create_batch(16, area=AreaFactory())
    ten = tomorrow_at_ten()
    groups: list[Group] = []
    n = 0

    def clients(place: Resource, *starts: datetime) -> list[Booking]:
        nonlocal n
        n += len(starts)
        return [
            Booking(place, start, f"patron{n - i}@example.org") for i, start in enumerate(starts)
        ]

    for place in places[:6]:  # 36 clients
        groups.append(Group(place, clients(place, *[ten + 4 * HOUR] * 6)))
    overlapping = places[6]  # 6 clients, two different but overlapping slots
    groups.append(Group(overlapping, clients(overlapping, *[ten] * 3, *[ten + HOUR / 2] * 3)))
    for place in places[7:]:  # 9 places: 21 free slots
        groups.append(Group(place, clients(place, ten)))
        groups.append(Group(place, clients(place, ten + 2 * HOUR)))
    for place in places[7:10]:
        groups.append(Group(place, clients(place, ten + 4 * HOUR)))
    groups.append(Group(places[0], clients(places[0], ten + 5 * HOUR)))  # touches 14:00–15:00
    assert sum(len(g.bookings) for g in groups) == 64
    return groups


def answers_by_group(groups: list[Group], answers: list[Answer]) -> list[list[Answer]]:
    by_group, start = [], 0
    for group in groups:
        by_group.append(answers[start : start + len(group.bookings)])
        start += len(group.bookings)
    return by_group


def holding_in(group: Group) -> int:
    starts = {b.start for b in group.bookings}
    end = max(starts) + HOUR
    return Reservation.objects.filter(
        resource=group.place,
        state__in=HOLDING_STATES,
        start__lt=end,
        end__gt=min(starts),
    ).count()


def test_sixty_four_clients_book_each_contested_slot_once_and_every_free_one(
    live_server: LiveServer,
) -> None:
    groups = the_mix()

    answers = rush(live_server, [b for g in groups for b in g.bookings])

    assert unexpected(answers, "slot_taken") == []
    assert not any(a.status >= 500 or "database is locked" in a.body for a in answers)
    for group, got in zip(groups, answers_by_group(groups, answers), strict=True):
        statuses = Counter(a.status for a in got)
        assert statuses == Counter({302: 1, 409: len(got) - 1}), (group.place, statuses)
        assert holding_in(group) == 1
    assert Counter(a.status for a in answers) == {302: len(groups), 409: 64 - len(groups)}
    assert Reservation.objects.count() == len(groups)
    assert OutboxMessage.objects.count() == len(groups)
    assert find_violations() == []


def test_without_its_guard_the_mixed_rush_double_books(
    live_server: LiveServer, guard_disabled: None
) -> None:
    """The negative control of the rush above: the same clients, the guard taken away."""
    groups = the_mix()

    answers = rush(live_server, [b for g in groups for b in g.bookings])

    assert all(a.status in (302, 409) for a in answers), unexpected(answers, "slot_taken")
    assert max(holding_in(g) for g in groups) >= 2
    assert any(v.code == "place_double_booked" for v in find_violations())


# --- One patron, twenty tabs ----------------------------------------------------------------

MAX_PER_DAY, MAX_PER_WEEK = 2, 3


def twenty_tabs_of_one_patron() -> list[Booking]:
    """Tuesday to Thursday of next week, seven requests a day (six on Thursday), each on its
    own place: two at 10:00, one at 10:30 (overlapping), then 12:00, 14:00, 16:00, 18:00."""
    area = AreaFactory()
    BookingPolicyFactory(
        establishment=area.establishment,
        horizon_days=21,
        max_per_day=MAX_PER_DAY,
        max_per_week=MAX_PER_WEEK,
        # The tabs are not a browser that proved the address, so their bookings wait for
        # confirmation: the cap on unconfirmed ones must not be what stops them here.
        max_pending_per_patron=20,
    )
    # A place of its own for each request: no place lock queues them, only the patron's.
    places = iter(ResourceFactory.create_batch(21, area=area))
    today = now().astimezone(PARIS).date()
    monday = today + timedelta(days=7 - today.weekday())
    bookings = []
    for day in (monday + timedelta(days=d) for d in (1, 2, 3)):
        ten = datetime(day.year, day.month, day.day, 10, 0, tzinfo=PARIS)
        starts = [ten, ten, ten + HOUR / 2, *(ten + h * HOUR for h in (2, 4, 6, 8))]
        bookings += [Booking(next(places), start, "Same.Patron@example.org") for start in starts]
        if len(bookings) >= 20:
            return bookings[:20]
    raise AssertionError("unreachable")


def limits_broken(email: str) -> list[str]:
    """What the patron's holding reservations break: overlaps, days or weeks over the limit."""
    mine = list(Reservation.objects.filter(patron__email=email, state__in=HOLDING_STATES))
    broken = [
        f"{a.reference} overlaps {b.reference}"
        for a in mine
        for b in mine
        if a.pk < b.pk and a.start < b.end and b.start < a.end
    ]
    per_day = Counter(local_date(r.start, PARIS) for r in mine)
    broken += [f"{n} on {day}" for day, n in per_day.items() if n > MAX_PER_DAY]
    if len(mine) > MAX_PER_WEEK:
        broken.append(f"{len(mine)} in one week")
    return broken


def test_one_patrons_twenty_parallel_requests_stay_within_their_limits(
    live_server: LiveServer,
) -> None:
    Patron.objects.create(email="same.patron@example.org", verified_at=now())
    bookings = twenty_tabs_of_one_patron()

    answers = rush(live_server, bookings)

    assert unexpected(answers, "limit_reached", "patron_overlap") == []
    # Whatever the order, the week's three go through: a day the patron has no reservation on
    # refuses nothing.
    assert Counter(a.status for a in answers) == {302: MAX_PER_WEEK, 409: 20 - MAX_PER_WEEK}
    assert limits_broken("same.patron@example.org") == []
    assert {a.code for a in answers if a.status == 409} <= {"limit_reached", "patron_overlap"}
    assert find_violations() == []


@pytest.fixture
def patron_lock_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    """I2's guard taken away: the patron's row is read, not locked, and the first tabs wait for
    one another, so that more than a week's worth count the patron's reservations before any of
    them commits."""
    more_than_a_week = FirstArrivals(MAX_PER_WEEK + 2)

    def read_then_wait(email: str) -> Callable[[], Patron]:
        def read() -> Patron:
            patron = Patron.objects.get(email=email)
            more_than_a_week.wait()
            return patron

        return read

    monkeypatch.setattr(services, "_queue_lock_patron", read_then_wait)
    monkeypatch.setattr(services, "_lock_patron", lambda email, language: read_then_wait(email)())
    # Any other lock serialising one inbox's bookings (an advisory lock per canonical
    # address, say) is part of the same guard: gone too.
    monkeypatch.setattr(services, "_lock_inbox", lambda email: None, raising=False)


@pytest.mark.postgresql
def test_without_the_patron_lock_twenty_tabs_break_the_limits(
    live_server: LiveServer, patron_lock_disabled: None
) -> None:
    """The negative control of the test above. PostgreSQL only: on SQLite the guard of I2 is
    the database-wide write lock taken at BEGIN (IMMEDIATE), which serialises every booking
    whatever the patron lock does, so there is no race to lose there."""
    Patron.objects.create(email="same.patron@example.org", verified_at=now())
    bookings = twenty_tabs_of_one_patron()
    assert connection.vendor == "postgresql"

    answers = rush(live_server, bookings)

    assert all(a.status in (302, 409) for a in answers), answers
    assert Counter(a.status for a in answers)[302] > MAX_PER_WEEK
    assert limits_broken("same.patron@example.org") != []
