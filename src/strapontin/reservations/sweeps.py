"""Periodic sweeps: they only make visible what availability already assumes (I5) and send
the e-mails. Each reservation moves in its own transaction through the same transition."""

from strapontin.core.clock import now
from strapontin.reservations.models import Reservation, ReservationState
from strapontin.reservations.services import reservation_expire_unconfirmed


def sweep_unconfirmed(limit: int = 500) -> int:
    overdue = Reservation.objects.filter(
        state=ReservationState.PENDING, confirmation_deadline__lte=now()
    ).order_by("confirmation_deadline")[:limit]
    return sum(reservation_expire_unconfirmed(reservation=r) for r in overdue)


def run_sweeps() -> dict[str, int]:
    return {"expired": sweep_unconfirmed()}
