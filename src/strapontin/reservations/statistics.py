"""How an establishment is used over a period: reservations, occupancy, no-shows,
cancellations by cause, by day, hour, area, and an hour × weekday heat map.

Occupancy is checked-in place-hours over open place-hours. The figures come from one query
over the period's reservations and the schedule, so they match the CSV export and tables.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from strapontin.reservations.models import CancelCause, Reservation, ReservationState
from strapontin.venues.models import Establishment, Resource
from strapontin.venues.schedule import day_bounds, opening_hours_of

USED_STATES = (ReservationState.CHECKED_IN, ReservationState.RELEASED)


@dataclass
class Statistics:
    establishment: Establishment
    first_day: date
    last_day: date
    reservations: int = 0
    used: int = 0
    no_shows: int = 0
    open_place_hours: float = 0.0
    used_place_hours: float = 0.0
    cancellations: Counter[str] = field(default_factory=Counter)
    by_day: dict[date, int] = field(default_factory=dict)
    by_hour: dict[int, int] = field(default_factory=dict)
    by_area: dict[str, int] = field(default_factory=dict)
    #: heat[weekday][hour] = checked-in place-hours in that hour of that weekday
    heat: list[list[float]] = field(default_factory=list)

    @property
    def occupancy(self) -> float:
        """Share of the open place-hours that were really used (presence validated)."""
        return self.used_place_hours / self.open_place_hours if self.open_place_hours else 0.0

    @property
    def no_show_rate(self) -> float:
        """Of the reservations that reached their start, the share nobody came to."""
        reached = self.used + self.no_shows
        return self.no_shows / reached if reached else 0.0


def _hours(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds(), 0) / 3600


def establishment_statistics(
    establishment: Establishment, first_day: date, last_day: date
) -> Statistics:
    tz = establishment.tz
    stats = Statistics(establishment, first_day, last_day)
    stats.heat = [[0.0] * 24 for _ in range(7)]
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    places = Resource.objects.filter(establishment=establishment, is_active=True).count()
    for day in days:
        for opening in opening_hours_of(establishment, day).openings:
            stats.open_place_hours += _hours(opening.start, opening.end) * places
    period_start, _unused = day_bounds(first_day, tz)
    _unused, period_end = day_bounds(last_day, tz)
    rows = Reservation.objects.filter(
        establishment=establishment, start__gte=period_start, start__lt=period_end
    ).values_list("start", "end", "state", "cancel_cause", "ended_at", "resource__area__name")
    by_day: Counter[date] = Counter()
    by_hour: Counter[int] = Counter()
    by_area: Counter[str] = Counter()
    for start, end, state, cause, ended_at, area in rows:
        local = start.astimezone(tz)
        stats.reservations += 1
        by_day[local.date()] += 1
        by_hour[local.hour] += 1
        by_area[area] += 1
        if state in USED_STATES:
            stats.used += 1
            until = min(end, ended_at) if ended_at else end
            stats.used_place_hours += _hours(start, until)
            _add_to_heat(stats.heat, start, until, tz)
        elif state == ReservationState.NO_SHOW:
            stats.no_shows += 1
            stats.cancellations["no_show"] += 1
        elif state == ReservationState.EXPIRED:
            stats.cancellations["expired"] += 1
        elif state == ReservationState.CANCELLED:
            stats.cancellations[cause or CancelCause.PATRON] += 1
    stats.by_day = {day: by_day.get(day, 0) for day in days}
    stats.by_hour = dict(sorted(by_hour.items()))
    stats.by_area = dict(sorted(by_area.items()))
    return stats


def _add_to_heat(heat: list[list[float]], start: datetime, end: datetime, tz: ZoneInfo) -> None:
    """Spread a used interval over the local hours it covers."""
    cursor = start
    spent: defaultdict[tuple[int, int], float] = defaultdict(float)
    while cursor < end:
        local = cursor.astimezone(tz)
        next_hour = local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        step_end = min(end, next_hour)
        spent[(local.weekday(), local.hour)] += _hours(cursor, step_end)
        cursor = step_end
    for (weekday, hour), hours in spent.items():
        heat[weekday][hour] += hours


def statistics_csv_rows(stats: Statistics) -> list[list[str]]:
    """One row per day, then the totals: the same numbers as the page."""
    rows = [["date", "reservations"]]
    rows += [[day.isoformat(), str(count)] for day, count in stats.by_day.items()]
    rows += [
        ["total_reservations", str(stats.reservations)],
        ["presence_validated", str(stats.used)],
        ["no_shows", str(stats.no_shows)],
        ["no_show_rate", f"{stats.no_show_rate:.4f}"],
        ["open_place_hours", f"{stats.open_place_hours:.2f}"],
        ["used_place_hours", f"{stats.used_place_hours:.2f}"],
        ["occupancy", f"{stats.occupancy:.4f}"],
    ]
    rows += [[f"cancelled_{cause}", str(n)] for cause, n in sorted(stats.cancellations.items())]
    rows += [[f"area:{area}", str(n)] for area, n in stats.by_area.items()]
    return rows
