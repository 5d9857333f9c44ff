"""Read-side queries: the day's availability and a patron's reservations.

Availability treats overdue reservations as free (I5), so it never waits for a sweep. The
grid is computed in Python from two queries, whatever the number of places.
"""

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

from django.db.models import Count, Q, QuerySet

from strapontin.core.clock import now
from strapontin.reservations.models import HOLDING_STATES, Reservation, ReservationState
from strapontin.reservations.services import holding_q
from strapontin.venues.models import Area, Establishment, Feature, Resource
from strapontin.venues.policy import effective_policy
from strapontin.venues.schedule import (
    DayHours,
    areas_with_exceptions,
    day_bounds,
    opening_hours_of,
    slot_starts,
)


class Cell(NamedTuple):
    """One slot of one place: a page has thousands, hence a tuple (several times cheaper to
    build than a frozen dataclass)."""

    start: datetime
    end: datetime
    free: bool
    past: bool
    selectable: bool
    #: Taken by a patron on a break until then ("en pause jusqu'à 13:20").
    break_until: datetime | None = None


@dataclass
class PlaceRow:
    resource: Resource
    cells: list[Cell]
    #: The place's features, by code (shared between rows: read only).
    features: list[Feature] = field(default_factory=list)

    @property
    def free_count(self) -> int:
        return sum(cell.selectable for cell in self.cells)

    @property
    def break_until(self) -> datetime | None:
        """When the break of the patron holding this place now ends, if they are on one."""
        return next((cell.break_until for cell in self.cells if cell.break_until), None)


@dataclass
class DayGrid:
    establishment: Establishment
    day: date
    hours: DayHours
    slot_starts: list[datetime]
    duration_minutes: int
    rows: list[PlaceRow]
    total_places: int
    page: int
    pages: int
    durations: list[int] = field(default_factory=list)

    @property
    def has_breaks(self) -> bool:
        return any(row.break_until for row in self.rows)


@dataclass(frozen=True)
class GridFilters:
    area_id: int | None = None
    kind: str = ""
    feature_codes: tuple[str, ...] = ()
    duration_minutes: int | None = None
    available_only: bool = False


def matching_places(establishment: Establishment, filters: GridFilters) -> QuerySet[Resource]:
    places = Resource.objects.filter(establishment=establishment, is_active=True)
    if filters.area_id:
        places = places.filter(area_id=filters.area_id)
    if filters.kind:
        places = places.filter(kind=filters.kind)
    for code in filters.feature_codes:
        places = places.filter(features__code=code)
    return places.order_by("area__position", "area__name", "position", "id")


def day_grid(
    establishment: Establishment,
    day: date,
    filters: GridFilters,
    *,
    page: int = 1,
    per_page: int = 40,
) -> DayGrid:
    """Every matching place with its slots for ``day``: free, taken, past, selectable.

    Only the page's places are loaded and given cells, so the cost follows the page, not the
    establishment; "available only" must look at every place to know which to keep."""
    moment = now()
    tz = establishment.tz
    policy = effective_policy(establishment)
    hours = opening_hours_of(establishment, day)
    step = timedelta(minutes=policy.slot_minutes)
    durations = list(
        range(policy.min_duration_minutes, policy.max_duration_minutes + 1, policy.slot_minutes)
    )
    duration = filters.duration_minutes if filters.duration_minutes in durations else durations[0]
    starts: list[datetime] = []
    opening_of: list[int] = []
    for index, opening in enumerate(hours.openings):
        for start in slot_starts(opening, policy.slot_minutes):
            starts.append(start)
            opening_of.append(index)
    # A slot continues the one before it: same opening, one step later.
    continues = [
        i > 0 and opening_of[i] == opening_of[i - 1] and starts[i] - starts[i - 1] == step
        for i in range(len(starts))
    ]
    need = duration // policy.slot_minutes
    past = [start <= moment for start in starts]
    closed_by_area = _closed_slots_by_area(establishment, day, starts, step)
    day_start, day_end = day_bounds(day, tz)

    def cells_of(taken: set[int], paused: dict[int, datetime] | None = None) -> list[Cell]:
        # run[i]: how many free slots follow one another from i on; a start is selectable
        # when ``need`` of them do.
        run = [0] * (len(starts) + 1)
        for i in range(len(starts) - 1, -1, -1):
            if i not in taken:
                run[i] = 1 + (run[i + 1] if i + 1 < len(starts) and continues[i + 1] else 0)
        paused = paused or {}
        return [
            Cell(
                start,
                start + step,
                run[i] > 0,
                past[i],
                run[i] >= need and not past[i],
                paused.get(i),
            )
            for i, start in enumerate(starts)
        ]

    places = list(matching_places(establishment, filters).values_list("pk", "area_id"))
    paused: dict[int, dict[int, datetime]] = defaultdict(dict)
    if filters.available_only:
        busy = _busy_slots(establishment, None, day_start, day_end, starts, step, moment, paused)
        places = [
            (pk, area_id)
            for pk, area_id in places
            if any(
                cell.selectable
                for cell in cells_of(busy.get(pk, set()) | closed_by_area.get(area_id, set()))
            )
        ]
    total = len(places)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    shown = places[(page - 1) * per_page : page * per_page]
    ids = [pk for pk, _area_id in shown]
    if not filters.available_only:
        busy = _busy_slots(establishment, ids, day_start, day_end, starts, step, moment, paused)
    resources = Resource.objects.filter(pk__in=ids).select_related("area").in_bulk()
    features = _features_of(ids)
    rows = []
    for pk, area_id in shown:
        taken = busy.get(pk, set()) | closed_by_area.get(area_id, set())
        rows.append(PlaceRow(resources[pk], cells_of(taken, paused.get(pk)), features.get(pk, [])))
    return DayGrid(
        establishment=establishment,
        day=day,
        hours=hours,
        slot_starts=starts,
        duration_minutes=duration,
        rows=rows,
        total_places=total,
        page=page,
        pages=pages,
        durations=durations,
    )


def _features_of(place_ids: Sequence[int]) -> dict[int, list[Feature]]:
    """Each place's features in one query, each feature one object: a prefetch would build a
    queryset and a manager for every place of the page."""
    through = Resource.features.through
    found: dict[int, Feature] = {}
    of_place: dict[int, list[Feature]] = defaultdict(list)
    rows = (
        through.objects.filter(resource_id__in=place_ids)
        .order_by("feature__code")
        .values_list(
            "resource_id", "feature_id", "feature__code", "feature__name_fr", "feature__name_en"
        )
    )
    for place_id, feature_id, code, name_fr, name_en in rows:
        feature = found.get(feature_id)
        if feature is None:
            feature = found[feature_id] = Feature(
                pk=feature_id, code=code, name_fr=name_fr, name_en=name_en
            )
        of_place[place_id].append(feature)
    return of_place


def _closed_slots_by_area(
    establishment: Establishment, day: date, starts: list[datetime], step: timedelta
) -> dict[int, set[int]]:
    """Slots that an area's own closure or reduced hours take out of the day."""
    closed: dict[int, set[int]] = {}
    for area_id in areas_with_exceptions(establishment, day):
        hours = opening_hours_of(establishment, day, Area(pk=area_id, establishment=establishment))
        closed[area_id] = {
            i
            for i, start in enumerate(starts)
            if not any(o.start <= start and start + step <= o.end for o in hours.openings)
        }
    return closed


def _busy_slots(
    establishment: Establishment,
    place_ids: Sequence[int] | None,
    day_start: datetime,
    day_end: datetime,
    starts: list[datetime],
    step: timedelta,
    moment: datetime,
    paused: dict[int, dict[int, datetime]] | None = None,
) -> dict[int, set[int]]:
    """Slot indexes each place (of ``place_ids``, or all) is held for; one query served by the
    (establishment, start) index: a reservation of the day starts before the day ends and at
    most a day earlier. ``paused`` receives, per place, the slots held by a patron on a break
    and when the break ends."""
    busy: dict[int, set[int]] = defaultdict(set)
    if not starts:
        return busy
    held = Reservation.objects.filter(
        holding_q(moment),
        establishment=establishment,
        start__lt=day_end,
        start__gte=day_start - timedelta(days=1),
        end__gt=day_start,
    )
    if place_ids is not None:
        held = held.filter(resource_id__in=place_ids)
    # As POSIX seconds: comparing aware datetimes of two zones converts them at every step.
    slot_at = [start.timestamp() for start in starts]
    length = step.total_seconds()
    rows = held.values_list("resource_id", "start", "end", "state", "break_ends_at")
    for resource_id, start, end, state, break_ends_at in rows:
        start_at, end_at = start.timestamp(), end.timestamp()
        on_break = state == ReservationState.ON_BREAK
        # The first slot that ends after the reservation starts, then every one it overlaps.
        for i in range(bisect_right(slot_at, start_at - length), len(slot_at)):
            if slot_at[i] >= end_at:
                break
            busy[resource_id].add(i)
            if on_break and paused is not None and break_ends_at is not None:
                paused[resource_id][i] = break_ends_at
    return busy


def effective_state(reservation: Reservation, moment: datetime | None = None) -> str:
    """What a patron should read now, even before the sweep has caught up (I5)."""
    moment = moment or now()
    if (
        reservation.state == ReservationState.PENDING
        and reservation.confirmation_deadline is not None
        and reservation.confirmation_deadline <= moment
    ):
        return ReservationState.EXPIRED
    if reservation.state == ReservationState.CONFIRMED and reservation.checkin_closes_at <= moment:
        return ReservationState.NO_SHOW
    if (
        reservation.state == ReservationState.ON_BREAK
        and reservation.break_ends_at is not None
        and reservation.break_ends_at <= moment
    ):
        return ReservationState.RELEASED
    if (
        reservation.state == ReservationState.OFFERED
        and reservation.offer_deadline is not None
        and reservation.offer_deadline <= moment
    ):
        return ReservationState.EXPIRED
    return reservation.state


def reservations_of(
    *, patron_ids: Iterable[int], reservation_ids: Iterable[int]
) -> tuple[list[Reservation], list[Reservation]]:
    """A browser's reservations: of the patron it knows, and the ones it booked itself."""
    moment = now()
    wanted = Q(patron_id__in=list(patron_ids)) | Q(pk__in=list(reservation_ids))
    found = list(
        Reservation.objects.filter(wanted)
        .select_related("resource__area", "establishment", "patron")
        .order_by("start")
    )
    upcoming = [r for r in found if r.end > moment and effective_state(r, moment) in HOLDING_STATES]
    past = [r for r in found if r not in upcoming]
    past.reverse()
    return upcoming, past


@dataclass(frozen=True)
class Occupancy:
    """The "affluence" now: how many places are free, people present, and expected."""

    at: datetime
    is_open: bool
    places: int
    free_now: int
    present: int
    expected: int
    #: Presence validated, out on a short break: the place is kept for them.
    on_break: int = 0


def occupancy_now(establishment: Establishment) -> Occupancy:
    moment = now()
    hours = opening_hours_of(establishment, moment.astimezone(establishment.tz).date())
    is_open = any(o.start <= moment < o.end for o in hours.openings)
    places = Resource.objects.filter(establishment=establishment, is_active=True).count()
    current = Reservation.objects.filter(
        holding_q(moment), establishment=establishment, start__lte=moment, end__gt=moment
    )
    counts = current.aggregate(
        present=Count("pk", filter=Q(state=ReservationState.CHECKED_IN)),
        on_break=Count("pk", filter=Q(state=ReservationState.ON_BREAK)),
        held=Count("resource_id", distinct=True),
    )
    present, on_break, held = counts["present"], counts["on_break"], counts["held"]
    return Occupancy(
        at=moment,
        is_open=is_open,
        places=places,
        free_now=max(places - held, 0) if is_open else 0,
        present=present,
        expected=max(held - present - on_break, 0),
        on_break=on_break,
    )
