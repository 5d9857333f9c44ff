"""Rushes of real HTTP clients on one live server: the database keeps its word (I1, I2).

Every client first GETs the booking page for its own CSRF cookie and token, then all POSTs
leave together from a barrier, each on its own thread and its own keep-alive connection.
The negative control runs the same rush with the guard taken away and must see a double
booking: otherwise the rush proves nothing.
"""

import importlib
import re
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.db import connection
from django.urls import reverse
from pytest_django.live_server_helper import LiveServer

from strapontin.core.clock import now
from strapontin.public.forms import slot_value
from strapontin.reservations import services
from strapontin.reservations.models import (
    HOLDING_STATES,
    OutboxMessage,
    Reservation,
    ReservationState,
)
from strapontin.venues.models import Resource
from tests.conftest import PARIS
from tests.factories import AreaFactory, ResourceFactory

pytestmark = [pytest.mark.concurrency, pytest.mark.usefixtures("transactional_db")]

RUSH = 32
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
no_overlap = importlib.import_module("strapontin.reservations.migrations.0002_no_double_booking")


@dataclass(frozen=True)
class Booking:
    place: Resource
    start: datetime
    email: str
    duration: int = 60

    @property
    def url(self) -> str:
        return reverse("public:book", kwargs={"slug": self.place.establishment.slug})

    @property
    def slot(self) -> str:
        return slot_value(self.place.pk, self.start)


@dataclass(frozen=True)
class Answer:
    status: int
    body: str

    @property
    def code(self) -> str | None:
        found = re.search(r'data-code="([^"]*)"', self.body)
        return found.group(1) if found else None


def tomorrow_at_ten() -> datetime:
    """On the 30-minute grid, inside the default opening hours (08:00–22:00) and horizon."""
    tomorrow = now().astimezone(PARIS).date() + timedelta(days=1)
    return datetime(tomorrow.year, tomorrow.month, tomorrow.day, 10, 0, tzinfo=PARIS)


def rush(live_server: LiveServer, bookings: list[Booking]) -> list[Answer]:
    """Open one client per booking (GET: cookie and token), then POST all at once."""
    clients = [httpx.Client(base_url=live_server.url, timeout=60) for _ in bookings]
    try:
        tokens = []
        for client, booking in zip(clients, bookings, strict=True):
            page = client.get(
                booking.url, params={"slot": booking.slot, "duration": booking.duration}
            )
            token = CSRF_INPUT.search(page.text)
            assert page.status_code == 200, page.text
            assert token, "the booking page carries no CSRF token"
            tokens.append(token.group(1))
        barrier = threading.Barrier(len(bookings), timeout=30)

        def post(index: int) -> Answer:
            booking = bookings[index]
            barrier.wait()
            answer = clients[index].post(
                booking.url,
                data={
                    "csrfmiddlewaretoken": tokens[index],
                    "slot": booking.slot,
                    "duration": booking.duration,
                    "email": booking.email,
                },
            )
            return Answer(answer.status_code, answer.text)

        with ThreadPoolExecutor(max_workers=len(bookings)) as pool:
            return list(pool.map(post, range(len(bookings))))
    finally:
        for client in clients:
            client.close()


def unexpected(answers: list[Answer], code: str) -> list[tuple[int, str | None, str]]:
    return [
        (a.status, a.code, a.body[:300])
        for a in answers
        if a.status != 302 and not (a.status == 409 and a.code == code)
    ]


def holding(**filters: object) -> int:
    return Reservation.objects.filter(state__in=HOLDING_STATES, **filters).count()


@pytest.fixture(autouse=True)
def _quiet_http_log(caplog: pytest.LogCaptureFixture) -> None:
    """httpx logs every request at INFO: keep a failure's report readable."""
    caplog.set_level("WARNING", logger="httpx")


@pytest.fixture
def place() -> Resource:
    return ResourceFactory()


@pytest.fixture
def refusals_under_the_lock(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts what the re-check under the lock refused, calling the real check through."""
    real_check = services._place_is_taken
    refused: Counter[str] = Counter()
    lock = threading.Lock()

    def spy(*args: object) -> bool:
        taken = real_check(*args)  # type: ignore[arg-type]
        if taken and connection.in_atomic_block:
            with lock:
                refused["slot_taken"] += 1
        return taken

    monkeypatch.setattr(services, "_place_is_taken", spy)
    return refused


@pytest.fixture
def guard_disabled(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Take I1's guard away, without mocking the database: no place lock, no re-check under
    it, and on PostgreSQL no exclusion constraint. What is left is a check-then-insert whose
    check runs outside any transaction, with a pause before the insert: clients that really
    run at the same time all see the place free."""
    real_check = services._place_is_taken

    def check_then_pause(*args: object) -> bool:
        if connection.in_atomic_block:
            return False  # the re-check under the lock: gone
        taken = real_check(*args)  # type: ignore[arg-type]
        time.sleep(0.3)
        return taken

    monkeypatch.setattr(services, "_lock_place", lambda resource: None)
    monkeypatch.setattr(services, "_place_is_taken", check_then_pause)
    on_postgresql = connection.vendor == "postgresql"
    if on_postgresql:
        with connection.cursor() as cursor:
            cursor.execute(no_overlap.DROP)
    try:
        yield
    finally:
        if on_postgresql:
            # The double bookings this made would refuse the constraint back.
            Reservation.objects.filter(state__in=HOLDING_STATES).update(
                state=ReservationState.CANCELLED
            )
            with connection.cursor() as cursor:
                cursor.execute(no_overlap.CREATE)


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
