"""Presence: validating it on arrival (QR code, establishment code, entrance screen, front
desk), a short break and coming back from it, leaving early, reminders and lifting a
suspension. The same shape as services.py:
guard → atomic → lock → re-check → mutate → audit → outbox."""

from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from strapontin.core.audit import log_action
from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.reservations import emails
from strapontin.reservations.models import (
    CheckinMethod,
    Patron,
    Reservation,
    ReservationState,
    Suspension,
)
from strapontin.reservations.services import (
    _break_over,
    _expire,
    _freed,
    _locked,
    _no_show,
    normalise_email,
)
from strapontin.venues import codes
from strapontin.venues.models import Establishment
from strapontin.venues.policy import effective_policy


def _hhmm(moment: datetime, reservation: Reservation) -> str:
    return moment.astimezone(reservation.establishment.tz).strftime("%H:%M")


def reservation_check_in(
    *, reservation: Reservation, method: CheckinMethod, actor: AbstractBaseUser | str
) -> Reservation:
    """Validate presence. A repeated scan is a no-op; outside the window, say when it opens
    or that it has closed (and then the place has gone back to the others)."""
    moment = now()
    outcome: DomainError | None = None
    with transaction.atomic():
        current = _locked(reservation)
        if current.state == ReservationState.CHECKED_IN:
            return current
        if current.state == ReservationState.ON_BREAK:
            assert current.break_ends_at is not None
            if current.break_ends_at > moment:
                return _back_from_break(current, method, actor)
            _break_over(current, moment)
            outcome = DomainError(
                "break_over",
                _(
                    "Too late: your break ended at %(time)s, and the place has gone back to "
                    "the others."
                )
                % {"time": _hhmm(current.break_ends_at, current)},
            )
        elif current.state == ReservationState.PENDING:
            assert current.confirmation_deadline is not None
            if current.confirmation_deadline <= moment:
                _expire(current, moment)
                _freed(current, moment)
                outcome = DomainError(
                    "confirmation_expired",
                    _("This reservation was not confirmed in time and has been cancelled."),
                )
            else:
                raise DomainError(
                    "not_confirmed",
                    _("Confirm your reservation first, with the link of the e-mail we sent."),
                )
        elif current.state != ReservationState.CONFIRMED:
            raise DomainError("not_active", _("This reservation is no longer active."))
        elif moment < current.checkin_opens_at:
            raise DomainError(
                "checkin_not_open",
                _("Too early: presence can be validated from %(time)s.")
                % {"time": _hhmm(current.checkin_opens_at, current)},
            )
        elif moment >= current.checkin_closes_at:
            _no_show(current, moment)
            _freed(current, moment)
            outcome = DomainError(
                "checkin_window_closed",
                _(
                    "Too late: presence had to be validated before %(time)s, and the place "
                    "has gone back to the others."
                )
                % {"time": _hhmm(current.checkin_closes_at, current)},
            )
        else:
            current.state = ReservationState.CHECKED_IN
            current.checked_in_at = moment
            current.checkin_method = method
            current.save(update_fields=["state", "checked_in_at", "checkin_method"])
            log_action(
                current,
                "reservation.checked_in",
                actor=actor,
                establishment_id=current.establishment_id,
                data={"method": method},
            )
            return current
    # Raised after the commit, so that the expiry or no-show above is kept.
    assert outcome is not None
    raise outcome


def _back_from_break(
    reservation: Reservation, method: CheckinMethod, actor: AbstractBaseUser | str
) -> Reservation:
    """Presence validated again during the break: the place is the patron's as before."""
    reservation.state = ReservationState.CHECKED_IN
    reservation.save(update_fields=["state"])
    log_action(
        reservation,
        "reservation.back_from_break",
        actor=actor,
        establishment_id=reservation.establishment_id,
        data={"method": method},
    )
    return reservation


def reservation_start_break(
    *, reservation: Reservation, actor: AbstractBaseUser | str
) -> Reservation:
    """A checked-in patron steps out (lunch, a lecture) and keeps the place until the break
    ends, up to the policy's longest break. One break per reservation: a second would let a
    place be kept empty all day by validating once an hour. The break must end before the
    reservation does, so that coming back always means something; a repeated request during
    the break is a no-op."""
    moment = now()
    with transaction.atomic():
        current = _locked(reservation)
        if current.state == ReservationState.ON_BREAK and (
            current.break_ends_at is not None and current.break_ends_at > moment
        ):
            return current
        if current.state != ReservationState.CHECKED_IN or current.end <= moment:
            raise DomainError(
                "not_checked_in", _("Only a place you are using now can be kept for a break.")
            )
        policy = effective_policy(current.establishment, current.resource.area)
        if not policy.break_max_minutes:
            raise DomainError("breaks_not_allowed", _("Breaks are not offered here."))
        if current.break_ends_at is not None:
            raise DomainError(
                "break_already_taken", _("You have already taken the break of this reservation.")
            )
        ends = moment + timedelta(minutes=policy.break_max_minutes)
        if ends >= current.end:
            raise DomainError(
                "break_too_late",
                _(
                    "Your reservation ends before a break would: free the place if you leave, "
                    "so that someone else can use it."
                ),
            )
        current.state = ReservationState.ON_BREAK
        current.break_ends_at = ends
        current.save(update_fields=["state", "break_ends_at"])
        log_action(
            current,
            "reservation.break_started",
            actor=actor,
            establishment_id=current.establishment_id,
            data={"until": ends.isoformat()},
        )
        return current


def reservation_end_lapsed_break(*, reservation: Reservation) -> bool:
    """The break ended without presence validated again (the sweep); False if it has moved
    on meanwhile. Availability already treats the place as free (I5)."""
    moment = now()
    with transaction.atomic():
        current = _locked(reservation, skip_locked=True)
        if current is None or current.state != ReservationState.ON_BREAK:
            return False
        assert current.break_ends_at is not None
        if current.break_ends_at > moment:
            return False
        _break_over(current, moment)
        return True


def reservation_for_checkin(
    establishment: Establishment, patron: Patron, moment: datetime
) -> Reservation | None:
    """The patron's reservation here that a check-in now is about: the one on a break, else
    the one whose window is open, else the next one today (to say when), else the one that
    just closed."""
    mine = Reservation.objects.filter(
        establishment=establishment,
        patron=patron,
        state__in=(
            ReservationState.CONFIRMED,
            ReservationState.CHECKED_IN,
            ReservationState.PENDING,
            ReservationState.ON_BREAK,
        ),
        end__gt=moment,
    ).select_related("resource__area", "establishment", "patron")
    open_now = mine.filter(checkin_opens_at__lte=moment, checkin_closes_at__gt=moment)
    return (
        # Back from a break first: validating again is what keeps the place.
        mine.filter(state=ReservationState.ON_BREAK).order_by("start").first()
        or open_now.order_by("start").first()
        or mine.filter(checkin_opens_at__gt=moment, start__lt=moment + timedelta(hours=12))
        .order_by("start")
        .first()
        or mine.order_by("start").first()
    )


def check_in_with_code(
    *,
    establishment: Establishment,
    code: str,
    email: str = "",
    patron: Patron | None = None,
    scanned: bool = False,
) -> Reservation:
    """/reservation/validate and the QR code: the code proves the patron is at the entrance;
    the address (or the browser that knows the patron) says whose reservation it is."""
    moment = now()
    kind = codes.matches(establishment, code, moment)
    if kind is None:
        raise DomainError("invalid_code", _("This code is not the establishment's code."))
    if patron is None:
        patron = Patron.objects.filter(email=normalise_email(email)).first()
    reservation = reservation_for_checkin(establishment, patron, moment) if patron else None
    if reservation is None or patron is None:
        # The same answer for an unknown address: no account enumeration.
        raise DomainError(
            "no_reservation_now",
            _("No reservation to validate here now for this address."),
        )
    if kind == "rotating":
        method = CheckinMethod.KIOSK
    else:
        method = CheckinMethod.QR if scanned else CheckinMethod.CODE
    return reservation_check_in(reservation=reservation, method=method, actor=patron.email)


def reservation_check_in_at_desk(
    *, reservation: Reservation, user: AbstractBaseUser
) -> Reservation:
    return reservation_check_in(reservation=reservation, method=CheckinMethod.DESK, actor=user)


def reservation_leave_early(*, reservation: Reservation) -> Reservation:
    """ "Libérer ma place": the rest of the slot becomes bookable at once."""
    moment = now()
    with transaction.atomic():
        current = _locked(reservation)
        if current.state == ReservationState.RELEASED:
            return current
        if (
            current.state == ReservationState.ON_BREAK
            and current.break_ends_at is not None
            and current.break_ends_at <= moment
        ):
            _break_over(current, moment)
            return current
        if (
            current.state not in (ReservationState.CHECKED_IN, ReservationState.ON_BREAK)
            or current.end <= moment
        ):
            raise DomainError(
                "not_checked_in", _("Only a place you are using now can be released.")
            )
        current.state = ReservationState.RELEASED
        current.ended_at = moment
        current.save(update_fields=["state", "ended_at"])
        log_action(
            current,
            "reservation.released",
            actor=current.patron.email,
            establishment_id=current.establishment_id,
        )
        _freed(current, moment)
        return current


def reservation_send_reminder(*, reservation: Reservation) -> bool:
    """One reminder before the start, with how to validate presence; False if not due."""
    moment = now()
    with transaction.atomic():
        current = _locked(reservation, skip_locked=True)
        if (
            current is None
            or current.state != ReservationState.CONFIRMED
            or current.reminder_sent_at is not None
            or current.start <= moment
        ):
            return False
        policy = effective_policy(current.establishment, current.resource.area)
        lead = timedelta(minutes=policy.reminder_minutes_before)
        if not lead or moment < current.start - lead or current.created_at >= current.start - lead:
            return False
        current.reminder_sent_at = moment
        current.save(update_fields=["reminder_sent_at"])
        emails.send_reminder(current)
        return True


def suspension_lift(*, suspension: Suspension, user: AbstractBaseUser, reason: str = "") -> None:
    with transaction.atomic():
        current = Suspension.objects.select_for_update().get(pk=suspension.pk)
        if current.lifted_at is not None:
            return
        current.lifted_at = now()
        current.lifted_by = user  # type: ignore[assignment]
        current.save(update_fields=["lifted_at", "lifted_by"])
        log_action(
            current,
            "patron.suspension_lifted",
            actor=user,
            establishment_id=current.establishment_id,
            reason=reason,
        )
