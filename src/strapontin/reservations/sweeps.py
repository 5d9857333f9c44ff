"""Periodic sweeps: they only make visible what availability already assumes (I5) and send
the e-mails. Each reservation moves in its own transaction through the same transition, which
returns early when the state has moved on, so several workers can sweep at once."""

from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import partial

from strapontin.core.clock import now
from strapontin.reservations.models import (
    Reservation,
    ReservationState,
    WaitlistRequest,
    WaitlistState,
)
from strapontin.reservations.presence import (
    reservation_end_lapsed_break,
    reservation_send_reminder,
)
from strapontin.reservations.services import (
    _with_retry,
    reservation_expire_unconfirmed,
    reservation_mark_no_show,
)
from strapontin.reservations.waitlist import reservation_lapse_offer, waitlist_request_expire


def _each(transition: Callable[..., bool], reservations: Iterable[Reservation]) -> int:
    """Apply ``transition`` to each reservation, retried: passing a place on to the waitlist
    locks it after the reservation, the reverse of a booking's order, and PostgreSQL may break
    such a deadlock by aborting one of the two."""
    return sum(_with_retry(partial(transition, reservation=r)) for r in reservations)


def sweep_unconfirmed(limit: int = 500) -> int:
    overdue = Reservation.objects.filter(
        state=ReservationState.PENDING, confirmation_deadline__lte=now()
    ).order_by("confirmation_deadline")[:limit]
    # Retried: passing the place on to the waitlist locks it after the reservation, the
    # reverse of a booking's order, and PostgreSQL may break such a deadlock.
    return _each(reservation_expire_unconfirmed, overdue)


def sweep_no_shows(limit: int = 500) -> int:
    overdue = Reservation.objects.filter(
        state=ReservationState.CONFIRMED, checkin_closes_at__lte=now()
    ).order_by("checkin_closes_at")[:limit]
    return _each(reservation_mark_no_show, overdue)


def sweep_offers(limit: int = 500) -> int:
    """Held places not taken in time: each lapses and goes to the next waitlist request."""
    overdue = Reservation.objects.filter(
        state=ReservationState.OFFERED, offer_deadline__lte=now()
    ).order_by("offer_deadline")[:limit]
    return _each(reservation_lapse_offer, overdue)


def sweep_waitlist(limit: int = 500) -> int:
    """Requests whose time has begun leave the line."""
    started = WaitlistRequest.objects.filter(
        state=WaitlistState.WAITING, start__lte=now()
    ).order_by("start")[:limit]
    return sum(waitlist_request_expire(request=r) for r in started)


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
    from strapontin.reservations.lottery import sweep_draws

    return {
        "drawn": sweep_draws(),
        "expired": sweep_unconfirmed(),
        "no_show": sweep_no_shows(),
        "break_over": sweep_lapsed_breaks(),
        "offers_lapsed": sweep_offers(),
        "waitlist_expired": sweep_waitlist(),
        "reminded": sweep_reminders(),
        "throttles_pruned": prune(),
    }
