"""Opening intervals and the slot grid in local time, across DST changes (I6)."""

from datetime import UTC, date, time, timedelta
from zoneinfo import ZoneInfo

from strapontin.core.intervals import overlaps
from strapontin.venues.schedule import day_bounds, day_hours, slot_starts

PARIS = ZoneInfo("Europe/Paris")
WEEK = [(d, time(8), time(22)) for d in range(6)]


def test_a_day_has_the_weeks_hours_in_local_time():
    hours = day_hours(date(2026, 3, 2), PARIS, WEEK)
    (opening,) = hours.openings
    assert opening.start.hour == 8
    assert opening.end.hour == 22
    assert opening.start.utcoffset() == timedelta(hours=1)


def test_sunday_is_closed_when_the_week_says_so():
    assert not day_hours(date(2026, 3, 8), PARIS, WEEK).is_open


def test_a_closure_wins_and_keeps_its_reason():
    hours = day_hours(date(2026, 3, 2), PARIS, WEEK, [(True, None, None, "Inventaire")])
    assert not hours.is_open
    assert hours.exception_reason == "Inventaire"


def test_special_hours_replace_the_week():
    hours = day_hours(date(2026, 3, 2), PARIS, WEEK, [(False, time(10), time(12), "Examens")])
    assert [(o.start.hour, o.end.hour) for o in hours.openings] == [(10, 12)]


def test_several_openings_a_day_are_kept_in_order():
    week = [(0, time(14), time(18)), (0, time(8), time(12))]
    hours = day_hours(date(2026, 3, 2), PARIS, week)
    assert [o.start.hour for o in hours.openings] == [8, 14]


def test_spring_forward_day_keeps_the_local_grid_and_real_durations():
    """29 March 2026: 02:00 → 03:00 in Paris; 08:00–22:00 is still 14 real hours."""
    (opening,) = day_hours(date(2026, 3, 29), PARIS, [(6, time(8), time(22))]).openings
    starts = slot_starts(opening, 60)
    assert [s.hour for s in starts] == list(range(8, 22))
    assert opening.end.astimezone(UTC) - opening.start.astimezone(UTC) == timedelta(hours=14)
    assert starts[0].utcoffset() == timedelta(hours=2)


def test_fall_back_day_is_25_hours_long():
    start, end = day_bounds(date(2026, 10, 25), PARIS)
    # Subtracting datetimes of one zone gives wall-clock time in Python; compare in UTC.
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=25)


def test_overlap_is_half_open():
    a, b, c = (day_bounds(date(2026, 3, d), PARIS)[0] for d in (2, 3, 4))
    assert not overlaps(a, b, b, c)
    assert overlaps(a, c, b, c)
