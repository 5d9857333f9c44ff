"""Read-side queries: the day's availability and a patron's reservations.

Availability treats overdue reservations as free (I5), so it never waits for a sweep. The
grid is computed in Python from two round trips (``grid_queries``), whatever the number of
places: the slots of a place are the bits of an integer (bit i, the day's i-th slot), so that
a place of the page costs a few operations on integers, not a loop over its slots.
"""

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property
from itertools import compress
from typing import NamedTuple

from django.db.models import Count, Q

from strapontin.core.clock import now
from strapontin.core.rows import read_together
from strapontin.reservations import grid_queries
from strapontin.reservations.grid_queries import GridPlace, Held
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
    """One slot of one place, for the grid's templates: a tuple (several times cheaper to
    build than a frozen dataclass)."""

    start: datetime
    end: datetime
    free: bool
    past: bool
    selectable: bool
    #: Taken by a patron on a break until then ("en pause jusqu'à 13:20").
    break_until: datetime | None = None


_DIGITS = bytes.maketrans(b"01", b"\0\1")


def chosen[T](values: Sequence[T], slots: int) -> list[T]:
    """The values (one per slot, in the day's order) of the slots set in ``slots``: picked by
    the binary digits, in C, where a loop over the bits in Python cost the availability API
    a tenth of its time."""
    return list(compress(values, f"{slots:b}"[::-1].encode().translate(_DIGITS)))


@dataclass(frozen=True, eq=False)
class DaySlots:
    """The day's slots, the same for every place: bit i of a set of slots is ``starts[i]``.
    One per grid, hashed as itself (``timeline`` formats its hours once a grid)."""

    starts: list[datetime]
    ends: list[datetime]
    #: Started already: a past slot is never selectable.
    past: int
    #: Slots that follow the one before them (same opening, one step later).
    continuing: int
    #: Slots a reservation of the chosen duration needs, one after the other.
    need: int

    def selectable(self, free: int) -> int:
        """The starts from which ``need`` free slots follow one another."""
        selectable = free & ~self.past
        chained = free & self.continuing
        for offset in range(1, self.need):
            selectable &= chained >> offset
        return selectable


@dataclass
class PlaceRow:
    resource: GridPlace
    slots: DaySlots
    #: Held by nobody, and the place's area open.
    free: int
    selectable: int
    #: The place's features, by code (shared between rows: read only).
    features: list[Feature] = field(default_factory=list)
    #: Slot index → when the break of the patron holding it ends.
    paused: dict[int, datetime] = field(default_factory=dict)

    @property
    def free_to_come(self) -> int:
        """Free and not started yet."""
        return self.free & ~self.slots.past

    @property
    def free_count(self) -> int:
        return self.selectable.bit_count()

    @property
    def break_until(self) -> datetime | None:
        """When the break of the patron holding this place now ends, if they are on one."""
        return self.paused[min(self.paused)] if self.paused else None

    @cached_property
    def cells(self) -> list[Cell]:
        slots, free, selectable, paused = self.slots, self.free, self.selectable, self.paused
        return [
            Cell(
                start,
                slots.ends[i],
                bool(free >> i & 1),
                bool(slots.past >> i & 1),
                bool(selectable >> i & 1),
                paused.get(i),
            )
            for i, start in enumerate(slots.starts)
        ]


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
        return any(row.paused for row in self.rows)


@dataclass(frozen=True)
class GridFilters:
    area_id: int | None = None
    kind: str = ""
    feature_codes: tuple[str, ...] = ()
    duration_minutes: int | None = None
    available_only: bool = False


def day_grid(
    establishment: Establishment,
    day: date,
    filters: GridFilters,
    *,
    page: int = 1,
    per_page: int = 40,
) -> DayGrid:
    """Every matching place with its slots for ``day``: free, taken, past, selectable.

    Only the page's places are loaded, so the cost follows the page, not the establishment;
    "available only" must look at every place's reservations to know which to keep."""
    moment = now()
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
    slots = DaySlots(
        starts=starts,
        ends=[start + step for start in starts],
        past=_slots(start <= moment for start in starts),
        continuing=_slots(
            i > 0 and opening_of[i] == opening_of[i - 1] and starts[i] - starts[i - 1] == step
            for i in range(len(starts))
        ),
        need=duration // policy.slot_minutes,
    )
    every = (1 << len(starts)) - 1
    closed_by_area = _closed_slots_by_area(establishment, day, starts, step)
    bounds = day_bounds(day, establishment.tz)

    def matching() -> tuple[list[tuple[int, int]], list[Held] | None]:
        places = grid_queries.queue_matching_places(
            establishment.pk, filters.area_id, filters.kind, filters.feature_codes
        )
        if not filters.available_only:
            return places(), None
        if not starts:  # closed all day: no place has a free slot
            return places(), []
        # Every place's reservations are needed: they travel with the places.
        held = grid_queries.queue_held(establishment.pk, None, bounds, moment)
        return places(), held()

    places, held_anywhere = read_together(matching)
    paused: dict[int, dict[int, datetime]] = defaultdict(dict)
    busy: dict[int, int] = {}
    if held_anywhere is not None:
        busy = _busy_slots(held_anywhere, starts, step, paused)
        places = [
            (pk, area_id)
            for pk, area_id in places
            if slots.selectable(every & ~(busy.get(pk, 0) | closed_by_area.get(area_id, 0)))
        ]
    total = len(places)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    shown = places[(page - 1) * per_page : page * per_page]
    ids = [pk for pk, _area_id in shown]

    def of_page() -> tuple[dict[int, GridPlace], dict[int, list[Feature]], list[Held] | None]:
        held = None
        if held_anywhere is None and starts:
            held = grid_queries.queue_held(establishment.pk, ids, bounds, moment)
        resources = grid_queries.queue_places_with_areas(ids)
        features = grid_queries.queue_features(ids)
        return resources(), features(), held() if held else None

    resources, features, held = read_together(of_page) if ids else ({}, {}, None)
    if held is not None:
        busy = _busy_slots(held, starts, step, paused)
    rows = []
    for pk, area_id in shown:
        free = every & ~(busy.get(pk, 0) | closed_by_area.get(area_id, 0))
        rows.append(
            PlaceRow(
                resource=resources[pk],
                slots=slots,
                free=free,
                selectable=slots.selectable(free),
                features=features.get(pk, []),
                paused=paused.get(pk, {}),
            )
        )
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


def _slots(flags: Iterable[bool]) -> int:
    """The set of slots whose flag is true, flags in the day's order."""
    return sum(1 << i for i, flag in enumerate(flags) if flag)


def _closed_slots_by_area(
    establishment: Establishment, day: date, starts: list[datetime], step: timedelta
) -> dict[int, int]:
    """Slots that an area's own closure or reduced hours take out of the day."""
    closed: dict[int, int] = {}
    for area_id in areas_with_exceptions(establishment, day):
        hours = opening_hours_of(establishment, day, Area(pk=area_id, establishment=establishment))
        closed[area_id] = _slots(
            not any(o.start <= start and start + step <= o.end for o in hours.openings)
            for start in starts
        )
    return closed


def _busy_slots(
    held: list[Held],
    starts: list[datetime],
    step: timedelta,
    paused: dict[int, dict[int, datetime]],
) -> dict[int, int]:
    """The slots each place is held for. ``paused`` receives, per place, the slots held by a
    patron on a break and when the break ends."""
    busy: dict[int, int] = defaultdict(int)
    # As POSIX seconds: comparing aware datetimes of two zones converts them at every step.
    slot_at = [start.timestamp() for start in starts]
    length = step.total_seconds()
    for resource_id, start_at, end_at, state, break_ends_at in held:
        # The first slot that ends after the reservation starts, up to the first that starts
        # once it ended.
        first = bisect_right(slot_at, start_at - length)
        last = bisect_left(slot_at, end_at, first)
        if last <= first:
            continue
        busy[resource_id] |= (1 << last) - (1 << first)
        if state == ReservationState.ON_BREAK and break_ends_at is not None:
            for i in range(first, last):
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
