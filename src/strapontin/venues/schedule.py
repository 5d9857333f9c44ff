"""Opening intervals and the slot grid, in the establishment's local time (DST-aware, I3/I6).

The functions at the top are pure (they take rows, not the database) so the DST cases are
tested without fixtures; :func:`opening_hours_of` reads the database and calls them.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q

from strapontin.venues.models import Area, Establishment, OpeningHours, ScheduleException
from strapontin.venues.rules import remembered


@dataclass(frozen=True)
class Opening:
    """One opening interval of a day, as aware datetimes in the establishment's zone."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class DayHours:
    """What the schedule says of one day, and why (the reason of a closure)."""

    day: date
    openings: tuple[Opening, ...]
    exception_reason: str = ""

    @property
    def is_open(self) -> bool:
        return bool(self.openings)


def local_datetime(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz)


def day_hours(
    day: date,
    tz: ZoneInfo,
    weekly: Iterable[tuple[int, time, time]],
    exceptions: Sequence[tuple[bool, time | None, time | None, str]] = (),
) -> DayHours:
    """The day's openings: the week's hours, unless exceptions of that day replace them."""
    if exceptions:
        reason = "; ".join(e[3] for e in exceptions if e[3])
        if any(closed for closed, *_ in exceptions):
            return DayHours(day, (), reason)
        spans = sorted(
            (o, c) for _closed, o, c, _r in exceptions if o is not None and c is not None
        )
    else:
        reason = ""
        spans = sorted((o, c) for weekday, o, c in weekly if weekday == day.weekday())
    openings = tuple(
        Opening(local_datetime(day, o, tz), local_datetime(day, c, tz)) for o, c in spans
    )
    return DayHours(day, openings, reason)


def slot_starts(opening: Opening, slot_minutes: int) -> list[datetime]:
    """Grid starts of an opening, stepped in wall-clock time, as aware local datetimes."""
    starts = []
    step = timedelta(minutes=slot_minutes)
    current = opening.start
    while current + step <= opening.end:
        starts.append(current)
        current = current + step  # wall-clock arithmetic: stays on the local grid across DST
    return starts


def is_on_grid(opening: Opening, moment: datetime, slot_minutes: int) -> bool:
    tz = opening.start.tzinfo
    local = moment.astimezone(tz).replace(tzinfo=None)
    offset = local - opening.start.replace(tzinfo=None)
    return offset >= timedelta(0) and offset % timedelta(minutes=slot_minutes) == timedelta(0)


def opening_containing(hours: DayHours, start: datetime, end: datetime) -> Opening | None:
    for opening in hours.openings:
        if opening.start <= start and end <= opening.end:
            return opening
    return None


def opening_hours_of(establishment: Establishment, day: date, area: Area | None = None) -> DayHours:
    """The day's hours of ``establishment``, or of one of its areas: a closure of the whole
    establishment wins; then the area's own exceptions; then the establishment's; then the
    week's hours. Read once per process until the establishment's rules change."""
    return remembered(
        establishment,
        ("hours", day, area.pk if area is not None else None),
        lambda: _read_opening_hours(establishment, day, area),
    )


def _read_opening_hours(establishment: Establishment, day: date, area: Area | None) -> DayHours:
    weekly = OpeningHours.objects.filter(
        establishment=establishment, weekday=day.weekday()
    ).values_list("weekday", "opens", "closes")
    scope = Q(area__isnull=True) | Q(area=area) if area is not None else Q(area__isnull=True)
    rows = list(
        ScheduleException.objects.filter(scope, establishment=establishment, date=day).values_list(
            "area_id", "is_closed", "opens", "closes", "reason"
        )
    )
    general = [(c, o, e, r) for area_id, c, o, e, r in rows if area_id is None]
    own = [(c, o, e, r) for area_id, c, o, e, r in rows if area_id is not None]
    if any(closed for closed, *_rest in general):
        chosen = [e for e in general if e[0]]
    else:
        chosen = own or general
    return day_hours(day, establishment.tz, list(weekly), chosen)


def areas_with_exceptions(establishment: Establishment, day: date) -> frozenset[int]:
    return remembered(
        establishment,
        ("areas_with_exceptions", day),
        lambda: frozenset(
            ScheduleException.objects.filter(
                establishment=establishment, date=day, area__isnull=False
            ).values_list("area_id", flat=True)
        ),
    )


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Local midnight to next local midnight (23 or 25 hours on DST days)."""
    return local_datetime(day, time(0), tz), local_datetime(day + timedelta(days=1), time(0), tz)
