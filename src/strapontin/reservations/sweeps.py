"""Periodic sweeps: they only make visible what availability already assumes (I5) and send
the e-mails. Each reservation moves in its own transaction through the same transition, which
returns early when the state has moved on, so several workers can sweep at once."""

from datetime import timedelta

from strapontin.core.clock import now
from strapontin.reservations.models import Reservation, ReservationState
from strapontin.reservations.presence import (
    reservation_end_lapsed_break,
    reservation_send_reminder,
)
from strapontin.reservations.services import (
    reservation_expire_unconfirmed,
    reservation_mark_no_show,
)


def sweep_unconfirmed(limit: int = 500) -> int:
    overdue = Reservation.objects.filter(
        state=ReservationState.PENDING, confirmation_deadline__lte=now()
    ).order_by("confirmation_deadline")[:limit]
    return sum(reservation_expire_unconfirmed(reservation=r) for r in overdue)


def sweep_no_shows(limit: int = 500) -> int:
    overdue = Reservation.objects.filter(
        state=ReservationState.CONFIRMED, checkin_closes_at__lte=now()
    ).order_by("checkin_closes_at")[:limit]
    return sum(reservation_mark_no_show(reservation=r) for r in overdue)


def sweep_lapsed_breaks(limit: int = 500) -> int:
    overdue = Reservation.objects.filter(
        state=ReservationState.ON_BREAK, break_ends_at__lte=now()
    ).order_by("break_ends_at")[:limit]
    return sum(reservation_end_lapsed_break(reservation=r) for r in overdue)


def sweep_reminders(limit: int = 500) -> int:
    """Reminders are due at most a day ahead (the longest lead a policy can sensibly ask)."""
    moment = now()
    soon = Reservation.objects.filter(
        state=ReservationState.CONFIRMED,
        reminder_sent_at__isnull=True,
        start__gt=moment,
        start__lte=moment + timedelta(days=1),
    ).order_by("start")[:limit]
    return sum(reservation_send_reminder(reservation=r) for r in soon)


def run_sweeps() -> dict[str, int]:
    from strapontin.core.throttle import prune

    return {
        "expired": sweep_unconfirmed(),
        "no_show": sweep_no_shows(),
        "break_over": sweep_lapsed_breaks(),
        "reminded": sweep_reminders(),
        "throttles_pruned": prune(),
    }
