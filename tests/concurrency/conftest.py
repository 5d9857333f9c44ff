"""Fixtures of the rushes: a quiet HTTP log, a spy on the guard, and the guard taken away."""

import contextlib
import importlib
import threading
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from django.db import connection

from strapontin.api import reservations as api_reservations
from strapontin.public import throttling
from strapontin.reservations import services
from strapontin.reservations.models import HOLDING_STATES, Reservation, ReservationState

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
    together = threading.Barrier(4)
    arrivals = iter(range(4))

    def spy(*args: object, **kwargs: object) -> bool:
        if not connection.in_atomic_block:
            with lock:
                first_few = next(arrivals, None) is not None
            if first_few:
                with contextlib.suppress(threading.BrokenBarrierError):
                    together.wait(timeout=10)
        taken = real_check(*args, **kwargs)  # type: ignore[arg-type]
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
