"""What the front desk reads: one day's reservations of an establishment, its suspensions."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Q, QuerySet

from strapontin.core.models import AuditEntry
from strapontin.reservations.models import Reservation, ReservationState, Suspension
from strapontin.reservations.selectors import effective_state
from strapontin.venues.models import Establishment
from strapontin.venues.schedule import day_bounds


@dataclass(frozen=True)
class DeskRow:
    reservation: Reservation
    #: The state a patron would read now, before the sweep has caught up (I5).
    state: str
    can_check_in: bool
    can_cancel: bool

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
                # A pending reservation needs the patron's confirmation first (the service
                # says so); the desk is offered what it can do.
                can_check_in=state == ReservationState.CONFIRMED and reservation.end > moment,
                can_cancel=state in (ReservationState.PENDING, ReservationState.CONFIRMED)
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
