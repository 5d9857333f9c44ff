"""Fair opening under two workers (PostgreSQL, where workers really run side by side): the
draw's row lock is what makes it run once. Without it, the same harness does see the draw
run twice — so the test of tests/lottery/test_draw.py can fail (STYLE.md §4)."""

import threading
import time
from datetime import time as clock_time

import pytest
import time_machine

from strapontin.core.models import AuditEntry
from strapontin.reservations import lottery
from strapontin.reservations.models import Draw
from strapontin.venues.models import BookingPolicy
from tests.conftest import MONDAY_MORNING
from tests.factories import AreaFactory, EstablishmentFactory, ResourceFactory
from tests.lottery.conftest import WINDOW_CLOSES, entered
from tests.presence.threads import together

pytestmark = [pytest.mark.postgresql, pytest.mark.usefixtures("transactional_db")]


def a_due_draw() -> Draw:
    with time_machine.travel(MONDAY_MORNING, tick=False):
        place = EstablishmentFactory()
        BookingPolicy.objects.create(
            establishment=place,
            day_opens_at=clock_time(9, 0),
            fair_opening=True,
            fair_window_minutes=5,
        )
        seats = [ResourceFactory(area=AreaFactory(establishment=place)) for _ in range(2)]
        for n in range(6):
            entered(seats[n % 2], f"worker{n}@example.org", flexible=True)
    return Draw.objects.get()


def test_without_the_draw_s_lock_two_workers_draw_twice(monkeypatch):
    draw = a_due_draw()
    both_read = threading.Barrier(2, timeout=30)

    def unlocked(draw: Draw, *, skip_locked: bool) -> Draw | None:
        found = Draw.objects.select_related("establishment").filter(pk=draw.pk).first()
        both_read.wait()  # each has read "not drawn yet" before either writes
        time.sleep(0.1)
        return found

    monkeypatch.setattr(lottery, "_lock_draw", unlocked)
    with time_machine.travel(WINDOW_CLOSES, tick=False):
        results = together(lambda: lottery.draw_run(draw=draw), lambda: lottery.sweep_draws())
    assert results == [True, 1]
    assert AuditEntry.objects.filter(action="draw.completed").count() == 2


def test_with_the_draw_s_lock_two_workers_draw_once():
    draw = a_due_draw()
    with time_machine.travel(WINDOW_CLOSES, tick=False):
        results = together(lambda: lottery.draw_run(draw=draw), lambda: lottery.sweep_draws())
    assert sorted(int(r) for r in results) == [0, 1]
    assert AuditEntry.objects.filter(action="draw.completed").count() == 1
