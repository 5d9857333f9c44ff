"""What the front desk reads: one day's reservations of an establishment, its suspensions."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Q, QuerySet

from strapontin.core.intervals import overlaps
from strapontin.core.models import AuditEntry
from strapontin.reservations.models import Reservation, ReservationState, Suspension
from strapontin.reservations.selectors import effective_state
from strapontin.venues.models import Establishment, Resource
from strapontin.venues.schedule import day_bounds, opening_hours_of


@dataclass(frozen=True)
class DeskRow:
    reservation: Reservation
    #: The state a patron would read now, before the sweep has caught up (I5).
    state: str
    can_check_in: bool
    can_cancel: bool
    #: Present now, no break taken yet: the desk can start one for the patron.
    can_start_break: bool = False

    @property
    def state_label(self) -> str:
        return str(ReservationState(self.state).label)


@dataclass(frozen=True)
class DeskDay:
    rows: list[DeskRow]
    #: Still to come (awaiting confirmation or confirmed, not over).
    expected: int
    #: Presence validated and not over: in the library now.
    present: int
    #: Out on a short break, the place kept for them.
    on_break: int = 0


def search_q(query: str) -> Q:
    """By e-mail (any part of it), reference (exact) or place label."""
    query = query.strip()
    return (
        Q(patron__email__icontains=query)
        | Q(reference__iexact=query)
        | Q(resource__label__icontains=query)
    )


def desk_day(establishment: Establishment, day: date, moment: datetime, query: str = "") -> DeskDay:
    """The reservations starting on ``day`` (the establishment's local day)."""
    start, end = day_bounds(day, establishment.tz)
    found: QuerySet[Reservation] = Reservation.objects.filter(
        establishment=establishment, start__gte=start, start__lt=end
    ).select_related("resource__area", "patron", "establishment")
    if query.strip():
        found = found.filter(search_q(query))
    rows = []
    for reservation in found.order_by("start", "resource__area__position", "resource__label"):
        state = effective_state(reservation, moment)
        rows.append(
            DeskRow(
                reservation=reservation,
                state=state,
                # A pending reservation needs the patron's confirmation first, and presence
                # counts from the window's opening (the service says so): the desk is offered
                # what it can do now.
                can_check_in=(
                    state == ReservationState.CONFIRMED
                    and reservation.checkin_opens_at <= moment < reservation.end
                )
                or state == ReservationState.ON_BREAK,
                can_cancel=state in (ReservationState.PENDING, ReservationState.CONFIRMED)
                and reservation.end > moment,
                can_start_break=state == ReservationState.CHECKED_IN
                and reservation.break_ends_at is None
                and reservation.end > moment,
            )
        )
    return DeskDay(
        rows=rows,
        expected=sum(
            1
            for r in rows
            if r.state in (ReservationState.PENDING, ReservationState.CONFIRMED)
            and r.reservation.end > moment
        ),
        present=sum(
            1 for r in rows if r.state == ReservationState.CHECKED_IN and r.reservation.end > moment
        ),
        on_break=sum(1 for r in rows if r.state == ReservationState.ON_BREAK),
    )


def active_suspensions(establishment: Establishment, moment: datetime) -> QuerySet[Suspension]:
    return (
        Suspension.objects.filter(
            establishment=establishment,
            lifted_at__isnull=True,
            starts_at__lte=moment,
            ends_at__gt=moment,
        )
        .select_related("patron")
        .order_by("ends_at")
    )


def audit_by_reservation(reservations: list[Reservation]) -> dict[int, list[AuditEntry]]:
    """Each reservation's audit entries (who did what, when, why), in one query for the page."""
    found: dict[int, list[AuditEntry]] = defaultdict(list)
    if not reservations:
        return found
    subject_type = Reservation._meta.label_lower
    entries = (
        AuditEntry.objects.filter(
            subject_type=subject_type, subject_id__in=[r.pk for r in reservations]
        )
        .select_related("actor")
        .order_by("created_at", "id")
    )
    for entry in entries:
        found[entry.subject_id].append(entry)
    return found


def journal(establishment: Establishment) -> QuerySet[AuditEntry]:
    """Everything staff and the system did at one establishment, newest first."""
    return AuditEntry.objects.filter(establishment_id=establishment.pk).order_by(
        "-created_at", "-id"
    )


@dataclass(frozen=True)
class TimelineRow:
    """One place's day at the desk: per hour column, the reservations that touch it."""

    place: Resource
    cells: list[list[DeskRow]]


def desk_timeline(
    establishment: Establishment, day: date, rows: list[DeskRow]
) -> tuple[list[datetime], list[TimelineRow]]:
    """The day as a timeline: hour columns over the opening hours, a line per booked place.
    Only reservations that hold or held their place are drawn."""
    openings = opening_hours_of(establishment, day).openings
    if not openings:
        return [], []
    first = openings[0].start.replace(minute=0)
    hours = []
    cursor = first
    while cursor < openings[-1].end:
        hours.append(cursor)
        cursor = cursor + timedelta(hours=1)
    shown = {
        ReservationState.PENDING,
        ReservationState.CONFIRMED,
        ReservationState.CHECKED_IN,
        ReservationState.ON_BREAK,
        ReservationState.RELEASED,
        ReservationState.OFFERED,
    }
    by_place: dict[int, list[DeskRow]] = defaultdict(list)
    places: dict[int, Resource] = {}
    for row in rows:
        if row.state in shown:
            by_place[row.reservation.resource_id].append(row)
            places[row.reservation.resource_id] = row.reservation.resource
    lines = [
        TimelineRow(
            place=places[pk],
            cells=[
                [
                    row
                    for row in booked
                    if overlaps(
                        row.reservation.start, row.reservation.end, hour, hour + timedelta(hours=1)
                    )
                ]
                for hour in hours
            ],
        )
        for pk, booked in by_place.items()
    ]
    lines.sort(key=lambda line: (line.place.area.position, line.place.position, line.place.pk))
    return hours, lines
