"""Use cases of reservations: each is one function, atomic, audited, e-mailing through the
outbox (I4). Shape: guard → atomic → lock → re-check → mutate → audit → outbox."""

import hashlib
import logging
import operator
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import reduce
from typing import TypeVar, overload

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Q
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from strapontin.core.audit import log_action
from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.core.rows import Pending, insert, insert_later, pipelined, written_together
from strapontin.core.validators import has_control_characters
from strapontin.reservations import booking_queries, emails, waitlist
from strapontin.reservations.models import (
    DEADLINE_FIELDS,
    HOLDING_STATES,
    AccessToken,
    CancelCause,
    Patron,
    Reservation,
    ReservationState,
    Suspension,
    TokenPurpose,
    canonical_email,
)
from strapontin.reservations.tokens import is_usable
from strapontin.venues.models import BookingPolicy, ConfirmationMode, Resource
from strapontin.venues.policy import check_email_domain, check_slot, effective_policy
from strapontin.venues.schedule import day_bounds, local_date, opening_hours_of

logger = logging.getLogger(__name__)
T = TypeVar("T")

SIGN_IN_LINK_LIFETIME = timedelta(minutes=30)
SIGN_IN_LINKS_PER_HOUR = 3
#: PostgreSQL: deadlock, serialization failure, lock timeout.
RETRYABLE_SQLSTATES = {"40P01", "40001", "55P03"}


def normalise_email(raw: str) -> str:
    email = (raw or "").strip().lower()
    try:
        if len(email) > 254:  # RFC 5321's limit, and the column's
            raise ValidationError("too long")
        # Django accepts quoted local parts with control characters ("a\x01b"@x): they have
        # no place in a patron's address, nor in an e-mail header.
        if has_control_characters(email) or '"' in email or "\\" in email:
            raise ValidationError("control characters")
        validate_email(email)
    except ValidationError:
        raise DomainError("invalid_email", _("Enter a valid e-mail address.")) from None
    return email


def overdue_q(moment: datetime) -> Q:
    """Reservations that still say they hold their place but no longer do (I5): not confirmed
    by their deadline, confirmed but not checked in when the check-in window closed, held
    for a patron of the waitlist who did not take it in time, or on a break that ended
    without the patron validating their presence again."""
    return reduce(
        operator.or_,
        (Q(state=state, **{f"{field}__lte": moment}) for state, field in DEADLINE_FIELDS.items()),
    )


def holding_q(moment: datetime) -> Q:
    return Q(state__in=HOLDING_STATES) & ~overdue_q(moment)


def _with_retry[T](operation: Callable[[], T]) -> T:
    """Retry a transaction PostgreSQL aborted to break a deadlock, then answer cleanly."""
    for attempt in range(3):
        try:
            return operation()
        except OperationalError as error:
            sqlstate = getattr(getattr(error, "__cause__", None), "sqlstate", None)
            if sqlstate not in RETRYABLE_SQLSTATES or attempt == 2:
                raise
            logger.info("Retrying after %s", sqlstate)
    raise AssertionError("unreachable")


# --- Booking --------------------------------------------------------------------------------


def _needs_confirmation(policy: BookingPolicy, patron: Patron, known_patron_id: int | None) -> bool:
    """Only a requester who proved the address (this browser opened one of its links, or an
    app holds its patron token) is spared the e-mail. Were a verified address confirmed for
    anyone, a booking would tell strangers which addresses are patrons here (enumeration),
    and three bookings in a student's name would get them suspended for no-shows."""
    match policy.confirmation_mode:
        case ConfirmationMode.ALWAYS:
            return True
        case _:
            return known_patron_id != patron.pk or not patron.is_verified


def same_inbox(patron: Patron, field: str = "patron") -> Q:
    """The patron and their aliases (``name+tag@``, dots at gmail.com): limits count them as
    one person (see ``canonical_email``)."""
    if patron.canonical_email:
        return Q(**{f"{field}__canonical_email": patron.canonical_email})
    return Q(**{field: patron})


def _lock_inbox(email: str) -> None:
    """Serialise bookings of one inbox, aliases included, before its limits are counted. A
    new alias has no row to lock yet, hence a lock on the canonical address itself
    (PostgreSQL advisory lock; SQLite's IMMEDIATE transaction already serialises)."""
    key = _inbox_key(email)
    if key is not None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _inbox_key(email: str) -> int | None:
    """The advisory lock's key for the inbox of ``email`` (PostgreSQL); None elsewhere."""
    if connection.vendor != "postgresql":
        return None
    digest = hashlib.sha256(f"inbox:{canonical_email(email)}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _check_pending_cap(policy: BookingPolicy, waiting: int) -> None:
    """Unconfirmed reservations hold places too: one inbox may keep only a few waiting
    (``waiting``: its pending ones, counted with its limits)."""
    if waiting >= policy.max_pending_per_patron:
        raise DomainError(
            "too_many_pending",
            _(
                "Confirm the reservations awaiting confirmation first (see your e-mails): at "
                "most %(count)s can wait at once."
            )
            % {"count": policy.max_pending_per_patron},
        )


def _queue_inbox_counts(
    inbox: booking_queries.Inbox,
    resource: Resource,
    start: datetime,
    end: datetime,
    moment: datetime,
    draw: bool = False,
) -> Pending[tuple[booking_queries.InboxCounts, int | None]]:
    """What I2 and the suspension rule count, over the booked day and its week (Monday to
    Sunday, in the establishment's time zone); with ``draw``, the new reservation's key
    (``booking_queries.queue_inbox_counts_and_reservation_id``)."""
    tz = resource.establishment.tz
    day = local_date(start, tz)
    monday = day - timedelta(days=day.weekday())
    return booking_queries.queue_inbox_counts_and_reservation_id(
        inbox,
        resource.establishment_id,
        start=start,
        end=end,
        day=day_bounds(day, tz),
        week=(day_bounds(monday, tz)[0], day_bounds(monday + timedelta(days=6), tz)[1]),
        moment=moment,
        draw=draw,
    )


def _check_patron_limits(
    patron: Patron,
    policy: BookingPolicy,
    resource: Resource,
    start: datetime,
    end: datetime,
    moment: datetime,
    counts: booking_queries.InboxCounts | None = None,
) -> int:
    """I2 and the suspension rule, counted while the inbox is locked so parallel requests
    cannot both pass, over all its aliases, in one statement (``booking_queries``), unless
    the caller ``counts`` them under that lock already. Returns how many of its reservations
    await confirmation, for the pending cap."""
    if counts is None:
        inbox = booking_queries.Inbox.of(patron)
        counts = _queue_inbox_counts(inbox, resource, start, end, moment)()[0]
    if counts.suspended_until is not None:
        raise _suspended(counts.suspended_until, resource)
    if counts.overlapping:
        raise DomainError("patron_overlap", _("You already have a reservation at that time."))
    if counts.today >= policy.max_per_day:
        raise DomainError(
            "limit_reached",
            ngettext(
                "You have reached the limit of %(count)s reservation per day here.",
                "You have reached the limit of %(count)s reservations per day here.",
                policy.max_per_day,
            )
            % {"count": policy.max_per_day},
        )
    if counts.this_week >= policy.max_per_week:
        raise DomainError(
            "limit_reached",
            ngettext(
                "You have reached the limit of %(count)s reservation per week here.",
                "You have reached the limit of %(count)s reservations per week here.",
                policy.max_per_week,
            )
            % {"count": policy.max_per_week},
        )
    return counts.pending


def active_suspension(patron: Patron, establishment_id: int, moment: datetime) -> Suspension | None:
    return (
        Suspension.objects.filter(
            same_inbox(patron),
            establishment_id=establishment_id,
            lifted_at__isnull=True,
            starts_at__lte=moment,
            ends_at__gt=moment,
        )
        .order_by("-ends_at")
        .first()
    )


def _check_not_suspended(patron: Patron, resource: Resource, moment: datetime) -> None:
    suspension = active_suspension(patron, resource.establishment_id, moment)
    if suspension is not None:
        raise _suspended(suspension.ends_at, resource)


def _suspended(until: datetime, resource: Resource) -> DomainError:
    return DomainError(
        "suspended",
        _(
            "After several reservations without validated presence, booking here is "
            "suspended until %(date)s."
        )
        % {"date": date_format(until.astimezone(resource.establishment.tz), "j F Y, H:i")},
    )


#: A reservation of the place over the slot, in a holding state: its id, and whether it is
#: overdue (it holds the place no longer, I5).
Holder = tuple[int, bool]


def _lock_holders(
    resource: Resource, start: datetime, end: datetime, moment: datetime
) -> list[Holder]:
    """Under the place's lock, one query for both checks that follow: which reservations are
    overdue (to expire) and whether any other still holds the place (taken). Locked, so that
    PostgreSQL re-reads a row a check-in or a sweep is moving right now and leaves it out
    once it no longer holds (no second no-show, no overwritten check-in)."""
    return booking_queries.holders(resource.pk, start, end, moment)


def _expire_overdue_on(
    resource: Resource,
    start: datetime,
    end: datetime,
    moment: datetime,
    holders: list[Holder] | None = None,
) -> None:
    """I5: a place held by an overdue reservation is free; make it so inside this transaction."""
    if holders is None:
        holders = _lock_holders(resource, start, end, moment)
    late = [pk for pk, overdue in holders if overdue]
    if not late:
        return
    overdue = Reservation.objects.filter(pk__in=late).select_related(
        "patron", "resource__area", "establishment"
    )
    for reservation in overdue:
        if reservation.state == ReservationState.PENDING:
            _expire(reservation, moment)
        elif reservation.state == ReservationState.ON_BREAK:
            _break_over(reservation, moment)
        elif reservation.state == ReservationState.OFFERED:
            # Not passed on to the waitlist's next: the place goes to the one booking it now,
            # as availability has shown it free since the deadline.
            waitlist.lapse_offer(reservation, moment, pass_on=False)
        else:
            _no_show(reservation, moment)


def _freed(reservation: Reservation, moment: datetime) -> None:
    """Every transition that gives a place back calls this last, inside its transaction: the
    first matching waitlist request gets the place held for it (I4: audited, e-mailed)."""
    waitlist.offer_freed_place(reservation, moment)


def _lock_place(resource: Resource) -> None:
    """Queue contenders for one place on its row (PostgreSQL) instead of letting their inserts
    deadlock in the exclusion index; on SQLite the IMMEDIATE transaction already serialises."""
    booking_queries.lock_place(resource.pk)


def _place_is_taken(
    resource: Resource,
    start: datetime,
    end: datetime,
    moment: datetime,
    holders: list[Holder] | None = None,
) -> bool:
    """The overlap check of I1, trusted only under the place's lock, where the caller passes
    the ``holders`` it locked (no second query). A module-level seam: tests/concurrency
    replaces it to prove that their harness does see a double booking."""
    if holders is not None:
        return any(not overdue for _pk, overdue in holders)
    return booking_queries.place_is_held(resource.pk, start, end, moment)


def _queue_lock_patron(email: str) -> Pending[Patron | None]:
    """``_lock_patron``'s statement, sent with the place's lock (one round trip on
    PostgreSQL); reads None for an address never seen. A module-level seam too."""
    return booking_queries.queue_lock_patron(email, _inbox_key(email))


def _lock_patron(email: str, language: str) -> Patron:
    """The patron's row, locked: one patron's parallel bookings count their limits (I2) one
    after the other, aliases of one inbox included (``_lock_inbox``). A module-level seam,
    like ``_place_is_taken``, for tests/concurrency."""
    patron = booking_queries.lock_patron(email, _inbox_key(email))
    if patron is None:  # a new address: create it, then lock it like any other
        _lock_inbox(email)
        created, _created = Patron.objects.get_or_create(
            email=email, defaults={"language": language}
        )
        patron = Patron.objects.select_for_update().get(pk=created.pk)
    return patron


def reservation_create(
    *,
    resource: Resource,
    email: str,
    start: datetime,
    end: datetime,
    language: str = "fr",
    known_patron_id: int | None = None,
    booked_by: AbstractBaseUser | None = None,
    with_booking: Callable[[Reservation], None] | None = None,
    held_when_found: bool | None = None,
) -> Reservation:
    """Book ``resource`` for [start, end) for the owner of ``email``.

    ``known_patron_id`` is the patron this browser has proven to be (confirmed a link here);
    it spares a confirmation when the establishment asks for one per new device.
    ``booked_by`` is the desk agent booking for a walk-in patron standing in front of them:
    no confirmation is asked, and the slot under way can be booked.
    ``with_booking`` writes what the caller keeps with the reservation (the API's token for
    whoever booked) in the same transaction: one commit, not two.
    ``held_when_found`` is the quick check, when the caller read it with the place
    (``booking_queries.place_and_whether_held``).
    """
    email = normalise_email(email)
    moment = now()
    establishment = resource.establishment
    if not (resource.is_active and establishment.is_active):
        raise DomainError("not_found", _("This place cannot be booked."))
    policy = effective_policy(establishment, resource.area)
    check_email_domain(policy, email)
    day = local_date(start, establishment.tz)
    at_desk = booked_by is not None
    from strapontin.reservations.lottery import guard_booking  # the draw books through here

    guard_booking(establishment=establishment, policy=policy, day=day, moment=moment)

    def check_hours_and_policy(policy: BookingPolicy) -> None:
        check_slot(
            policy,
            opening_hours_of(establishment, day, resource.area),
            start,
            end,
            moment,
            allow_current_slot=at_desk,
        )

    check_hours_and_policy(policy)
    # Most losers of a rush stop here, without waiting for the write lock or the place's row.
    if held_when_found is None:
        held_when_found = _place_is_taken(resource, start, end, moment)
    if held_when_found:
        raise DomainError("slot_taken", _("Sorry, this place has just been taken."))
    inbox = booking_queries.Inbox(canonical=canonical_email(email))

    def book() -> Reservation:
        with transaction.atomic():
            # BEGIN, the locks and the reads that must follow them: one round trip on
            # PostgreSQL, each statement run once the locks before it are granted.
            with pipelined():
                _lock_place(resource)  # lock order: place, reservations, patrons
                # Again under the lock: a closure declared meanwhile locks the same rows and
                # gives the establishment a new rules version, read afresh here
                # (venues/rules.py), with the place's reservations over the slot.
                read_holders = booking_queries.queue_holders_and_rules_version(
                    resource, start, end, moment
                )
                read_patron = _queue_lock_patron(email)
                read_counts = _queue_inbox_counts(inbox, resource, start, end, moment, draw=True)
            establishment.rules_version, holders = read_holders()
            patron = read_patron()
            counts: booking_queries.InboxCounts | None
            counts, reservation_id = read_counts()
            policy = effective_policy(establishment, resource.area)
            check_hours_and_policy(policy)
            _expire_overdue_on(resource, start, end, moment, holders)
            if patron is None or patron.canonical_email != inbox.canonical:
                # A new address (no row was there to lock), or an old row: lock, then count.
                patron, counts = _lock_patron(email, language), None
            if _place_is_taken(resource, start, end, moment, holders):
                raise DomainError("slot_taken", _("Sorry, this place has just been taken."))
            waiting = _check_patron_limits(patron, policy, resource, start, end, moment, counts)
            if patron.language != language:
                patron.language = language
                patron.save(update_fields=["language"])
            confirm = not at_desk and _needs_confirmation(policy, patron, known_patron_id)
            if confirm:
                _check_pending_cap(policy, waiting)
            reservation = Reservation(
                pk=reservation_id,
                establishment=establishment,
                resource=resource,
                patron=patron,
                start=start,
                end=end,
                state=ReservationState.PENDING if confirm else ReservationState.CONFIRMED,
                language=language,
                created_at=moment,
                confirmation_deadline=(
                    min(moment + timedelta(minutes=policy.confirmation_deadline_minutes), start)
                    if confirm
                    else None
                ),
                confirmed_at=None if confirm else moment,
                checkin_opens_at=start - timedelta(minutes=policy.checkin_opens_before_minutes),
                checkin_closes_at=min(
                    start + timedelta(minutes=policy.checkin_closes_after_minutes), end
                ),
            )
            # With its audit entry, e-mail, token and the COMMIT: one round trip (core/rows.py).
            with written_together(then_commit=True):
                if reservation.pk is None:
                    insert(reservation)  # its key comes from the INSERT: the rows below need it
                else:
                    insert_later(reservation)
                log_action(
                    reservation,
                    "reservation.booked_at_desk"
                    if at_desk
                    else "reservation.requested"
                    if confirm
                    else "reservation.confirmed",
                    actor=booked_by if booked_by is not None else patron.email,
                    establishment_id=establishment.pk,
                )
                if confirm:
                    emails.send_confirmation_request(reservation)
                else:
                    emails.send_confirmed(reservation)
                if with_booking is not None:
                    with_booking(reservation)
            return reservation

    try:
        return _with_retry(book)
    except IntegrityError as error:
        # The exclusion constraint (PostgreSQL) is the last word on double booking (I1).
        if "reservation_no_overlap" in str(error):
            raise DomainError("slot_taken", _("Sorry, this place has just been taken.")) from error
        raise


# --- Transitions ----------------------------------------------------------------------------


@overload
def _locked(reservation: Reservation) -> Reservation: ...
@overload
def _locked(reservation: Reservation, *, skip_locked: bool) -> Reservation | None: ...
def _locked(reservation: Reservation, *, skip_locked: bool = False) -> Reservation | None:
    """The reservation's row, locked for this transaction. With ``skip_locked`` (sweeps on
    PostgreSQL), None when another worker holds it: that worker is moving it already."""
    # ``of``: lock this row only. Without it PostgreSQL also locks the joined patron, place
    # and establishment rows, and SKIP LOCKED then skips reservations nobody is moving.
    rows = Reservation.objects.select_for_update(
        skip_locked=skip_locked, of=("self",)
    ).select_related("patron", "resource__area", "establishment")
    if skip_locked:
        return rows.filter(pk=reservation.pk).first()
    return rows.get(pk=reservation.pk)


def _end_automatically(
    reservation: Reservation, state: ReservationState, moment: datetime, why: str
) -> None:
    """A deadline passed: the place goes back to the others, and an e-mail says why."""
    reservation.state = state
    reservation.ended_at = moment
    reservation.save(update_fields=["state", "ended_at"])
    log_action(
        reservation,
        f"reservation.{state}",
        actor=None,
        establishment_id=reservation.establishment_id,
        reason=why,
    )
    emails.send_cancelled(reservation)


def _expire(reservation: Reservation, moment: datetime) -> None:
    _end_automatically(
        reservation, ReservationState.EXPIRED, moment, "not confirmed before the deadline"
    )


def _break_over(reservation: Reservation, moment: datetime) -> None:
    """Not back from a break in time: the place is released, and an e-mail says why."""
    reservation.state = ReservationState.RELEASED
    reservation.cancel_cause = CancelCause.BREAK_OVER
    reservation.ended_at = moment
    reservation.save(update_fields=["state", "cancel_cause", "ended_at"])
    log_action(
        reservation,
        "reservation.break_over",
        actor=None,
        establishment_id=reservation.establishment_id,
        reason="presence not validated again before the break ended",
    )
    emails.send_cancelled(reservation, cause="reservation.break_over")


def _no_show(reservation: Reservation, moment: datetime) -> None:
    """Presence not validated in time: the place goes back to the others; repeated no-shows
    suspend booking at this establishment, per its policy."""
    _end_automatically(
        reservation,
        ReservationState.NO_SHOW,
        moment,
        "presence not validated before the check-in window closed",
    )
    policy = effective_policy(reservation.establishment, reservation.resource.area)
    if not policy.noshow_limit:
        return
    # One patron's no-shows are counted one transaction at a time: two workers sweeping two of
    # them at once would otherwise both see the limit reached and suspend twice.
    Patron.objects.select_for_update().filter(pk=reservation.patron_id).exists()
    counted = Reservation.objects.filter(
        same_inbox(reservation.patron),
        establishment_id=reservation.establishment_id,
        state=ReservationState.NO_SHOW,
        start__gte=moment - timedelta(days=policy.noshow_period_days),
    )
    # Only no-shows since the last suspension count towards the next one.
    last = (
        Suspension.objects.filter(
            same_inbox(reservation.patron), establishment_id=reservation.establishment_id
        )
        .order_by("-starts_at")
        .first()
    )
    if last is not None:
        counted = counted.filter(ended_at__gt=last.starts_at)
    no_shows = counted.count()
    if no_shows < policy.noshow_limit or active_suspension(
        reservation.patron, reservation.establishment_id, moment
    ):
        return
    suspension = Suspension.objects.create(
        patron=reservation.patron,
        establishment=reservation.establishment,
        starts_at=moment,
        ends_at=moment + timedelta(days=policy.noshow_suspension_days),
        no_shows=no_shows,
    )
    log_action(
        suspension,
        "patron.suspended",
        actor=None,
        establishment_id=reservation.establishment_id,
        reason=f"{no_shows} no-shows in {policy.noshow_period_days} days",
    )
    emails.send_suspended(suspension)


def reservation_mark_no_show(*, reservation: Reservation) -> bool:
    """The check-in window closed without validation; False if it has moved on meanwhile."""
    moment = now()
    with transaction.atomic():
        current = _locked(reservation, skip_locked=True)
        if current is None or current.state != ReservationState.CONFIRMED:
            return False
        if current.checkin_closes_at > moment:
            return False
        _no_show(current, moment)
        _freed(current, moment)
        return True


def reservation_expire_unconfirmed(*, reservation: Reservation) -> bool:
    """Expire a reservation not confirmed in time; False if it has moved on meanwhile."""
    moment = now()
    with transaction.atomic():
        current = _locked(reservation, skip_locked=True)
        if current is None or current.state != ReservationState.PENDING:
            return False
        assert current.confirmation_deadline is not None
        if current.confirmation_deadline > moment:
            return False
        _expire(current, moment)
        _freed(current, moment)
        return True


def reservation_confirm(*, reservation: Reservation) -> Reservation:
    """The patron clicked "Confirmer ma réservation"; their address is verified from now on."""
    moment = now()
    with transaction.atomic():
        current = _locked(reservation)
        if current.state in (ReservationState.CONFIRMED, ReservationState.CHECKED_IN):
            return current
        if current.state == ReservationState.PENDING:
            assert current.confirmation_deadline is not None
            if current.confirmation_deadline <= moment:
                _expire(current, moment)
                _freed(current, moment)
            else:
                current.state = ReservationState.CONFIRMED
                current.confirmed_at = moment
                current.save(update_fields=["state", "confirmed_at"])
                if current.patron.verified_at is None:
                    current.patron.verified_at = moment
                    current.patron.save(update_fields=["verified_at"])
                log_action(
                    current,
                    "reservation.confirmed",
                    actor=current.patron.email,
                    establishment_id=current.establishment_id,
                )
                emails.send_confirmed(current)
                return current
    # Raised after the commit, so that the expiry above is kept.
    if current.state == ReservationState.EXPIRED:
        raise DomainError(
            "confirmation_expired",
            _("This reservation was not confirmed in time and has been cancelled."),
        )
    raise DomainError("not_pending", _("This reservation can no longer be confirmed."))


def _cancel(
    reservation: Reservation,
    *,
    cause: CancelCause,
    actor: AbstractBaseUser | str,
    reason: str = "",
) -> Reservation:
    moment = now()
    with transaction.atomic():
        current = _locked(reservation)
        if current.state == ReservationState.CANCELLED:
            return current
        if current.state not in (ReservationState.PENDING, ReservationState.CONFIRMED):
            raise DomainError("not_cancellable", _("This reservation can no longer be cancelled."))
        if current.end <= moment:
            raise DomainError("not_cancellable", _("This reservation is already over."))
        if (
            current.state == ReservationState.PENDING
            and current.confirmation_deadline
            and (current.confirmation_deadline <= moment)
        ):
            _expire(current, moment)
            _freed(current, moment)
            return current
        current.state = ReservationState.CANCELLED
        current.cancel_cause = cause
        current.cancel_reason = reason
        current.ended_at = moment
        if isinstance(actor, AbstractBaseUser):
            current.cancelled_by = actor  # type: ignore[assignment]
        current.save(
            update_fields=["state", "cancel_cause", "cancel_reason", "ended_at", "cancelled_by"]
        )
        log_action(
            current,
            f"reservation.cancelled_by_{cause}",
            actor=actor,
            establishment_id=current.establishment_id,
            reason=reason,
        )
        emails.send_cancelled(current)
        _freed(current, moment)
        return current


def reservation_cancel_by_patron(*, reservation: Reservation) -> Reservation:
    return _cancel(reservation, cause=CancelCause.PATRON, actor=reservation.patron.email)


def reservation_cancel_by_staff(
    *, reservation: Reservation, user: AbstractBaseUser, reason: str
) -> Reservation:
    """Staff cancel (schedule change, closure, …); the reason goes into the patron's e-mail."""
    reason = reason.strip()
    if not reason:
        raise DomainError("reason_required", _("Say why: the patron will read it."))
    return _cancel(reservation, cause=CancelCause.STAFF, actor=user, reason=reason)


def reservation_resend_email(*, reservation: Reservation, max_resends: int = 3) -> None:
    """ "I received nothing": send the e-mail that matters now again, a few times at most."""
    with transaction.atomic():
        current = _locked(reservation)
        if current.messages.count() > max_resends:
            raise DomainError("resend_limit", _("The e-mail has already been sent several times."))
        if current.state == ReservationState.PENDING:
            assert current.confirmation_deadline is not None
            if current.confirmation_deadline <= now():
                raise DomainError(
                    "confirmation_expired", _("The time to confirm this reservation has passed.")
                )
            emails.send_confirmation_request(current)
        elif current.state == ReservationState.CONFIRMED:
            emails.send_confirmed(current)
        else:
            raise DomainError("nothing_to_send", _("This reservation needs no e-mail now."))
        log_action(
            current,
            "reservation.email_resent",
            actor=current.patron.email,
            establishment_id=current.establishment_id,
        )


# --- Patrons ---------------------------------------------------------------------------------


def patron_request_sign_in(*, email: str, language: str) -> None:
    """Send a sign-in link if the address is known; callers answer the same either way."""
    email = normalise_email(email)
    with transaction.atomic():
        patron = Patron.objects.select_for_update().filter(email=email).first()
        if patron is None:
            return
        recent = AccessToken.objects.filter(
            same_inbox(patron),
            purpose=TokenPurpose.SIGN_IN,
            created_at__gt=now() - timedelta(hours=1),
        )
        if recent.count() >= SIGN_IN_LINKS_PER_HOUR:
            return  # silently: an inbox is not to be flooded, and the answer must not differ
        if patron.language != language:
            patron.language = language
            patron.save(update_fields=["language"])
        emails.send_sign_in_link(patron, now() + SIGN_IN_LINK_LIFETIME)


def patron_sign_in(*, token: AccessToken) -> Patron:
    """Spend a sign-in link: proves the address, so it is verified from now on."""
    if token.purpose != TokenPurpose.SIGN_IN:
        raise DomainError("token_invalid", _("This link is not valid."))
    with transaction.atomic():
        token = AccessToken.objects.select_for_update().get(pk=token.pk)
        if not is_usable(token):
            raise DomainError("token_invalid", _("This link has expired or was already used."))
        moment = now()
        token.used_at = moment
        token.save(update_fields=["used_at"])
        patron = token.patron
        if patron.verified_at is None:
            patron.verified_at = moment
            patron.save(update_fields=["verified_at"])
        log_action(patron, "patron.signed_in", actor=patron.email)
        return patron
