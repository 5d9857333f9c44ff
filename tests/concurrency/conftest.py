"""Fixtures of the rushes: a quiet HTTP log, a spy on the guard, and the guard taken away."""

import importlib
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator

import pytest
from django.db import connection

from strapontin.api import reservations as api_reservations
from strapontin.public import throttling
from strapontin.reservations import services
from strapontin.reservations.models import HOLDING_STATES, Reservation, ReservationState
from strapontin.venues.models import Resource
from tests.concurrency.rush import FirstArrivals

no_overlap = importlib.import_module("strapontin.reservations.migrations.0002_no_double_booking")


@pytest.fixture(autouse=True)
def _one_machine_plays_every_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every client of these races comes from 127.0.0.1, where the per-client booking limits
    would stop the rush after 30: they test the database's guard, not the rate limits
    (tests/security/test_rate_limits.py does)."""
    monkeypatch.setattr(throttling, "BOOKINGS_PER_CLIENT", 10_000)
    monkeypatch.setattr(api_reservations, "BOOKINGS_PER_CLIENT", 10_000)


@pytest.fixture(autouse=True)
def _quiet_http_log(caplog: pytest.LogCaptureFixture) -> None:
    """httpx logs every request at INFO: keep a failure's report readable."""
    caplog.set_level("WARNING", logger="httpx")


@pytest.fixture
def refusals_under_the_lock(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts what the re-check under the lock refused, calling the real check through."""
    real_check = services._place_is_taken
    refused: Counter[str] = Counter()
    lock = threading.Lock()
    # The first few clients pass the quick check together, so that the guard under the lock
    # always meets contenders: without it, on a fast path, the winner could commit before
    # anyone else looked, and the rush would prove nothing about the lock.
    first_few = FirstArrivals(4)

    def spy(*args: object, **kwargs: object) -> bool:
        taken = real_check(*args, **kwargs)  # type: ignore[arg-type]
        if not connection.in_atomic_block:
            first_few.wait()  # each has seen the place free before any goes on to book it
        elif taken:
            with lock:
                refused["slot_taken"] += 1
        return taken

    monkeypatch.setattr(services, "_place_is_taken", spy)
    return refused


@pytest.fixture
def guard_disabled(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Take I1's guard away, without mocking the database: no place lock, no re-check under
    it, and on PostgreSQL no exclusion constraint. What is left is a check-then-insert whose
    check runs outside any transaction; the first two clients of each place both check before
    either inserts, so they both see the place free."""
    real_check = services._place_is_taken
    pairs: defaultdict[int, FirstArrivals] = defaultdict(lambda: FirstArrivals(2))
    lock = threading.Lock()

    def check_then_wait_for_a_contender(resource: Resource, *args: object) -> bool:
        if connection.in_atomic_block:
            return False  # the re-check under the lock: gone
        taken = real_check(resource, *args)  # type: ignore[arg-type]
        with lock:
            pair = pairs[resource.pk]
        pair.wait()
        return taken

    monkeypatch.setattr(services, "_lock_place", lambda resource: None)
    monkeypatch.setattr(services, "_place_is_taken", check_then_wait_for_a_contender)
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
