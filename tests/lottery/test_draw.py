"""Fair opening, the draw: after the window the requests are ordered by a PRNG seeded with
the published seed and booked in turn through the normal rules, once, by the worker or by
the first booking of the day (I5); anyone can re-run it from the seed."""

import random
from collections import Counter
from datetime import time, timedelta

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client, TestCase

from strapontin.core.errors import DomainError
from strapontin.core.models import AuditEntry
from strapontin.reservations import lottery, services
from strapontin.reservations.integrity import find_violations
from strapontin.reservations.models import (
    Draw,
    DrawRequest,
    DrawRequestState,
    Reservation,
    ReservationState,
    Suspension,
)
from strapontin.reservations.sweeps import run_sweeps
from strapontin.venues.models import BookingPolicy, ConfirmationMode
from tests.conftest import paris
from tests.lottery.conftest import DRAWN_DAY, SLOT, WINDOW_CLOSES, ask, entered
from tests.presence.threads import together

pytestmark = pytest.mark.usefixtures("clock")


def sweep_after_the_window(clock) -> None:
    clock.move_to(WINDOW_CLOSES)
    with TestCase.captureOnCommitCallbacks(execute=True):
        run_sweeps()


def test_the_order_is_random_shuffle_of_the_sorted_references_seeded_with_the_seed():
    references = ["QWERTY23", "ABCDEFGH", "ZZZZ2222", "MNPQRSTU"]
    expected = sorted(references)
    random.Random("published-seed").shuffle(expected)
    assert lottery.draw_order("published-seed", references) == expected
    assert lottery.draw_order("published-seed", list(reversed(references))) == expected
    assert lottery.draw_order("another-seed", references) != expected


def test_every_requester_is_equally_likely_to_come_first():
    """Over 4,000 fixed seeds, each of four requests comes first about 1,000 times: within
    five standard deviations (27 draws) of it. Fixed seeds: the same figures every run."""
    firsts = Counter(lottery.draw_order(f"seed-{n}", ["A", "B", "C", "D"])[0] for n in range(4000))
    assert set(firsts) == {"A", "B", "C", "D"}
    assert all(abs(count - 1000) < 5 * 27.4 for count in firsts.values()), firsts
    # And every one of the 24 orders of the four shows up, none far more than the others.
    orders = Counter(tuple(lottery.draw_order(f"o-{n}", ["A", "B", "C", "D"])) for n in range(4800))
    assert len(orders) == 24
    assert all(abs(count - 200) < 5 * 13.9 for count in orders.values()), orders


def test_the_sweep_books_the_single_place_for_the_first_drawn_and_tells_the_others(seats, clock):
    requests = [entered(seats[0], f"p{n}@example.org") for n in range(4)]
    mail.outbox.clear()

    sweep_after_the_window(clock)

    draw = Draw.objects.get()
    order = lottery.draw_order(draw.seed, [r.reference for r in requests])
    winner = DrawRequest.objects.get(reference=order[0])
    assert winner.state == DrawRequestState.WON
    assert winner.position == 1
    assert winner.reservation.resource == seats[0]
    assert winner.reservation.state == ReservationState.CONFIRMED  # proven address
    losers = DrawRequest.objects.exclude(pk=winner.pk)
    assert {r.state for r in losers} == {DrawRequestState.LOST}
    assert [r.reference for r in DrawRequest.objects.order_by("position")] == order
    assert Reservation.objects.count() == 1
    # E-mails: the winner's confirmation (with its .ics), the result for each loser, with a
    # link to what is still free.
    by_address = {m.to[0]: m for m in mail.outbox}
    assert len(mail.outbox) == 4
    assert "confirmée" in by_address[winner.patron.email].subject
    for loser in losers:
        body = by_address[loser.patron.email].body
        assert "aucune place" in body
        assert f"?date={DRAWN_DAY}&free=on" in body
    completed = AuditEntry.objects.get(action="draw.completed")
    assert completed.data["seed"] == draw.seed
    assert completed.data["requests"] == 4
    assert completed.data["allocated"] == 1
    assert completed.data["order"] == order
    assert AuditEntry.objects.filter(action="draw.committed").count() == 1
    drawn = AuditEntry.objects.filter(action__in=["draw_request.won", "draw_request.lost"])
    assert drawn.count() == 4
    assert find_violations() == []


def test_flexible_requests_get_another_place_alike_and_no_place_goes_twice(seats, clock):
    """Seven requests, all for place 1 at 10:00, for three places: three winners."""
    for n in range(7):
        entered(seats[0], f"q{n}@example.org", flexible=True)

    sweep_after_the_window(clock)

    won = DrawRequest.objects.filter(state=DrawRequestState.WON)
    assert won.count() == 3
    assert sorted(r.reservation.resource.label for r in won) == ["Place 1", "Place 2", "Place 3"]
    assert DrawRequest.objects.filter(state=DrawRequestState.LOST).count() == 4
    assert find_violations() == []
    call_command("verify_draw", "bu-fair", str(DRAWN_DAY))


def test_each_winner_goes_through_the_booking_rules(seats, clock):
    """A requester suspended meanwhile (no-shows elsewhere) loses their turn; the next one
    drawn keeps theirs."""
    suspended = entered(seats[0], "suspended@example.org")
    other = entered(seats[1], "other@example.org")
    Suspension.objects.create(
        patron=suspended.patron,
        establishment=seats[0].establishment,
        starts_at=paris(2026, 3, 2, 9, 1),
        ends_at=paris(2026, 3, 9, 9, 1),
        no_shows=3,
    )
    sweep_after_the_window(clock)
    suspended.refresh_from_db()
    other.refresh_from_db()
    assert suspended.state == DrawRequestState.LOST
    assert suspended.outcome == "suspended"
    assert other.state == DrawRequestState.WON


def test_under_confirmation_always_a_winner_still_confirms_by_email(seats, clock):
    BookingPolicy.objects.update(confirmation_mode=ConfirmationMode.ALWAYS)
    request = entered(seats[0], "always@example.org")
    sweep_after_the_window(clock)
    request.refresh_from_db()
    assert request.reservation.state == ReservationState.PENDING
    assert find_violations() == []


def test_requests_still_unconfirmed_at_the_close_do_not_enter(seats, clock):
    ask(Client(), seats[0], "late@example.org")
    sweep_after_the_window(clock)
    assert DrawRequest.objects.get().state == DrawRequestState.VOID
    assert not Reservation.objects.exists()


def test_the_first_booking_after_the_window_runs_the_draw_first_without_a_worker(seats, clock):
    request = entered(seats[0], "first@example.org")
    clock.move_to(WINDOW_CLOSES + timedelta(seconds=1))

    with pytest.raises(DomainError) as caught:
        services.reservation_create(
            resource=seats[0], email="fast@example.org", start=SLOT, end=SLOT + timedelta(hours=1)
        )

    assert caught.value.code == "slot_taken"
    request.refresh_from_db()
    assert request.state == DrawRequestState.WON
    assert Draw.objects.get().completed_at is not None
    # The rest of the day is booked as usual.
    services.reservation_create(
        resource=seats[1], email="fast@example.org", start=SLOT, end=SLOT + timedelta(hours=1)
    )


def test_the_draw_runs_once_however_often_it_is_asked(seats, clock):
    entered(seats[0], "once@example.org")
    clock.move_to(WINDOW_CLOSES)
    draw = Draw.objects.get()
    assert lottery.draw_run(draw=draw) is True
    assert lottery.draw_run(draw=draw) is False
    assert lottery.sweep_draws() == 0
    assert Reservation.objects.count() == 1
    assert AuditEntry.objects.filter(action="draw.completed").count() == 1


def test_a_draw_is_not_run_before_its_window_closes(seats):
    entered(seats[0], "early@example.org")
    assert lottery.draw_run(draw=Draw.objects.get()) is False
    assert lottery.sweep_draws() == 0


def test_verify_draw_re_runs_the_seed_and_finds_a_tampered_result(seats, clock, capsys):
    for n in range(3):
        entered(seats[0], f"v{n}@example.org")
    sweep_after_the_window(clock)
    call_command("verify_draw", "bu-fair", str(DRAWN_DAY))
    assert "checks out" in capsys.readouterr().out

    draw = Draw.objects.get()
    draw.results = list(reversed(draw.results))
    draw.save()
    with pytest.raises(CommandError):
        call_command("verify_draw", "bu-fair", str(DRAWN_DAY))
    assert any(v.code == "draw" for v in find_violations())


def test_verify_draw_refuses_a_bad_day_with_a_message():
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("verify_draw", "bu-fair", "tomorrow")


@pytest.mark.usefixtures("transactional_db")
def test_two_workers_drawing_at_once_allocate_once(clock):
    """Two workers' sweeps (and a booking's lazy draw) at the same moment: one draws, the
    others find it done; each place is given once, each e-mail sent once."""
    from tests.factories import AreaFactory, EstablishmentFactory, ResourceFactory

    place = EstablishmentFactory(slug="bu-race")
    BookingPolicy.objects.create(
        establishment=place, day_opens_at=time(9, 0), fair_opening=True, fair_window_minutes=5
    )
    area = AreaFactory(establishment=place)
    seats = [ResourceFactory(area=area, position=n) for n in range(3)]
    for n in range(8):
        entered(seats[0], f"race{n}@example.org", flexible=True)
    clock.move_to(WINDOW_CLOSES)
    draw = Draw.objects.get()

    results = together(
        lambda: lottery.sweep_draws(),
        lambda: lottery.sweep_draws(),
        lambda: lottery.draw_run(draw=draw),
    )

    assert sum(int(r) for r in results) == 1
    assert Reservation.objects.count() == 3
    assert AuditEntry.objects.filter(action="draw.completed").count() == 1
    assert DrawRequest.objects.filter(state=DrawRequestState.WON).count() == 3
    assert find_violations() == []


def test_a_window_moved_later_before_the_draw_postpones_it(seats, clock):
    request = entered(seats[0], "patient@example.org")
    BookingPolicy.objects.update(fair_window_minutes=30)
    clock.move_to(WINDOW_CLOSES)
    assert lottery.sweep_draws() == 0
    assert Draw.objects.get().closes_at == paris(2026, 3, 2, 9, 30)
    clock.move_to(paris(2026, 3, 2, 9, 30))
    assert lottery.sweep_draws() == 1
    request.refresh_from_db()
    assert request.state == DrawRequestState.WON


def test_a_day_drawn_already_is_booked_as_usual_if_its_window_is_moved_after(seats, clock):
    entered(seats[0], "early@example.org")
    sweep_after_the_window(clock)
    BookingPolicy.objects.update(day_opens_at=time(9, 10))
    clock.move_to(paris(2026, 3, 2, 9, 11))
    with pytest.raises(DomainError) as caught:
        lottery.draw_request_create(
            resource=seats[1], email="late@example.org", start=SLOT, end=SLOT + timedelta(hours=1)
        )
    assert caught.value.code == "not_collecting"
    made = services.reservation_create(
        resource=seats[1], email="late@example.org", start=SLOT, end=SLOT + timedelta(hours=1)
    )
    assert made.state == ReservationState.PENDING
