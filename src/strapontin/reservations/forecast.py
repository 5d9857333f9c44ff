"""The expected occupancy of a day, hour by hour, from the past: how many places were in use
(presence validated) in that hour on the same weekday over the last weeks, on average.

Patrons read it next to the live figure to choose when to come; it costs one query, whatever
the number of places, days or weeks of history (the (establishment, start) index)."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import reduce
from operator import or_
from zoneinfo import ZoneInfo

from django.db.models import Q

from strapontin.reservations.models import CancelCause, Reservation, ReservationState
from strapontin.venues.models import Establishment
from strapontin.venues.schedule import DayHours, day_bounds

#: Weeks of history a forecast averages: enough to smooth one odd day, recent enough to follow
#: the term (exams, holidays).
FORECAST_WEEKS = 6
#: States of reservations whose patron came: used from the start until they left (or the end).
USED_STATES = (ReservationState.CHECKED_IN, ReservationState.ON_BREAK, ReservationState.RELEASED)


@dataclass(frozen=True)
class HourForecast:
    #: The local hour [start, start + 1 h).
    start: datetime
    #: Places expected in use on average over the hour (place-hours used in it).
    expected: float
    places: int

    @property
    def end(self) -> datetime:
        return self.start + timedelta(hours=1)

    @property
    def expected_places(self) -> int:
        return round(self.expected)

    @property
    def percent(self) -> int:
        """Share of the places, in whole percent, never above 100."""
        return min(100, round(100 * self.expected / self.places)) if self.places else 0


@dataclass(frozen=True)
class DayForecast:
    day: date
    hours: list[HourForecast]
    #: Past days of the same weekday that had any presence (closed days are left out).
    days_counted: int


def _used_until(
    end: datetime, ended_at: datetime | None, cause: str, break_ends: datetime | None
) -> datetime:
    """Until when the place was used: the end, or when the patron left. A patron not back
    from a break is counted until the break's end, not until the sweep noticed it."""
    until = min(end, ended_at) if ended_at else end
    if cause == CancelCause.BREAK_OVER and break_ends is not None:
        until = min(until, break_ends)
    return until


def _spread(
    used: dict[tuple[date, int], float], start: datetime, end: datetime, tz: ZoneInfo
) -> None:
    """Add the used interval to the local (day, hour) buckets it covers (DST-safe)."""
    cursor = start
    while cursor < end:
        local = cursor.astimezone(tz)
        next_hour = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        step_end = min(end, next_hour)
        used[(local.date(), local.hour)] += (step_end - cursor).total_seconds() / 3600
        cursor = step_end


def _hours_of(hours: DayHours) -> list[datetime]:
    """The local hour starts that overlap an opening of the day, in order."""
    found: list[datetime] = []
    for opening in hours.openings:
        cursor = opening.start.replace(minute=0, second=0, microsecond=0)
        while cursor < opening.end:
            if not found or found[-1] < cursor:
                found.append(cursor)
            cursor = cursor + timedelta(hours=1)  # wall-clock arithmetic in the zone
    return found


def occupancy_forecast(
    establishment: Establishment,
    days: Sequence[DayHours],
    places: int,
    *,
    weeks: int = FORECAST_WEEKS,
) -> list[DayForecast]:
    """For each day of ``days`` (its opening hours), per open hour, the places in use on
    average in that hour on the same weekday over the last ``weeks`` weeks. Days of the past
    without any presence (closed, a holiday) are left out of the average rather than
    counted as empty; with no such day at all, the day's forecast has no hours."""
    tz = establishment.tz
    past: dict[date, list[date]] = {
        hours.day: [hours.day - timedelta(weeks=k) for k in range(1, weeks + 1)] for hours in days
    }
    wanted = sorted({d for ds in past.values() for d in ds})
    used: dict[tuple[date, int], float] = defaultdict(float)
    with_data: set[date] = set()
    if wanted:
        ranges: Iterable[Q] = (
            Q(start__gte=day_bounds(d, tz)[0], start__lt=day_bounds(d, tz)[1]) for d in wanted
        )
        rows = Reservation.objects.filter(
            reduce(or_, ranges), establishment=establishment, state__in=USED_STATES
        ).values_list("start", "end", "ended_at", "cancel_cause", "break_ends_at")
        for start, end, ended_at, cause, break_ends in rows:
            with_data.add(start.astimezone(tz).date())
            _spread(used, start, _used_until(end, ended_at, cause, break_ends), tz)
    forecasts = []
    for hours in days:
        counted = [d for d in past[hours.day] if d in with_data]
        hour_list = (
            [
                HourForecast(
                    start=start,
                    expected=sum(used.get((d, start.hour), 0.0) for d in counted) / len(counted),
                    places=places,
                )
                for start in _hours_of(hours)
            ]
            if counted
            else []
        )
        forecasts.append(DayForecast(day=hours.day, hours=hour_list, days_counted=len(counted)))
    return forecasts


@dataclass(frozen=True)
class ForecastRow:
    """One line of the table: a local hour, and each day's forecast for it (None: closed)."""

    hour: int
    cells: list[HourForecast | None]


def forecast_rows(forecasts: Sequence[DayForecast]) -> list[ForecastRow]:
    """The days side by side, one line per local hour any of them is open."""
    by_day = [{h.start.hour: h for h in forecast.hours} for forecast in forecasts]
    hours = sorted({hour for day in by_day for hour in day})
    return [ForecastRow(hour, [day.get(hour) for day in by_day]) for hour in hours]
