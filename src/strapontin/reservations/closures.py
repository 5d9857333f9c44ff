"""Exceptional closures and reduced hours: staff see first which reservations a change
affects; on confirmation the hours change and those reservations are cancelled with the
reason, each patron is e-mailed, and the audit log records it — all in one transaction."""

from dataclasses import dataclass
from datetime import date, time, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from strapontin.core.audit import log_action
from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.reservations import waitlist
from strapontin.reservations.models import CancelCause, Reservation
from strapontin.reservations.rebooking import propose_rebooking
from strapontin.reservations.services import _cancel, holding_q
from strapontin.venues.models import Area, Establishment, Resource, ScheduleException
from strapontin.venues.schedule import day_bounds, local_datetime

MAX_DAYS = 366


@dataclass(frozen=True)
class ScheduleChange:
    """Closed from ``first_day`` to ``last_day`` (inclusive), or open only ``opens``–``closes``
    on those days; for the whole establishment or one of its areas."""

    establishment: Establishment
    first_day: date
    last_day: date
    reason: str
    area: Area | None = None
    opens: time | None = None
    closes: time | None = None

    @property
    def is_closure(self) -> bool:
        return self.opens is None

    def days(self) -> list[date]:
        return [
            self.first_day + timedelta(days=n)
            for n in range((self.last_day - self.first_day).days + 1)
        ]


def _validate(change: ScheduleChange) -> None:
    if not change.reason.strip():
        raise DomainError("reason_required", _("Say why: the patrons will read it."))
    if change.last_day < change.first_day:
        raise DomainError("invalid_interval", _("The last day comes before the first."))
    if (change.last_day - change.first_day).days >= MAX_DAYS:
        raise DomainError("too_long", _("At most a year at once."))
    if (change.opens is None) != (change.closes is None):
        raise DomainError("invalid_interval", _("Give both the opening and the closing time."))
    if change.opens is not None and change.closes is not None and change.opens >= change.closes:
        raise DomainError("invalid_interval", _("The opening time must come before closing."))
    if change.area is not None and change.area.establishment_id != change.establishment.pk:
        raise DomainError("not_found", _("This area belongs to another establishment."))


def affected_reservations(change: ScheduleChange) -> QuerySet[Reservation]:
    """Holding reservations that the change leaves outside the hours: all of those days' for
    a closure; those not inside the reduced hours otherwise."""
    _validate(change)
    tz = change.establishment.tz
    start, _unused = day_bounds(change.first_day, tz)
    _unused, end = day_bounds(change.last_day, tz)
    found = Reservation.objects.filter(
        holding_q(now()), establishment=change.establishment, start__lt=end, end__gt=start
    ).select_related("resource__area", "patron")
    if change.area is not None:
        found = found.filter(resource__area=change.area)
    if change.is_closure:
        return found.order_by("start")
    assert change.opens is not None
    assert change.closes is not None
    outside = [
        r.pk
        for r in found
        if not (
            local_datetime(r.start.astimezone(tz).date(), change.opens, tz) <= r.start
            and r.end <= local_datetime(r.start.astimezone(tz).date(), change.closes, tz)
        )
    ]
    return found.filter(pk__in=outside).order_by("start")


def schedule_change_apply(*, change: ScheduleChange, user: AbstractBaseUser) -> list[Reservation]:
    """Apply the change and cancel what it affects; returns the cancelled reservations."""
    _validate(change)
    with transaction.atomic():
        # Lock the places first, as a booking does, so none slips in between.
        places = Resource.objects.filter(establishment=change.establishment)
        if change.area is not None:
            places = places.filter(area=change.area)
        list(places.select_for_update().order_by("pk").values_list("pk", flat=True))
        for day in change.days():
            ScheduleException.objects.filter(
                establishment=change.establishment, area=change.area, date=day
            ).delete()
            ScheduleException.objects.create(
                establishment=change.establishment,
                area=change.area,
                date=day,
                is_closed=change.is_closure,
                opens=change.opens,
                closes=change.closes,
                reason=change.reason.strip(),
            )
        cancelled = []
        for reservation in affected_reservations(change):
            # Held first, so that the cancellation e-mail carries the link to take it.
            propose_rebooking(reservation)
            cancelled.append(
                _cancel(
                    reservation, cause=CancelCause.STAFF, actor=user, reason=change.reason.strip()
                )
            )
        log_action(
            change.establishment,
            "establishment.closed" if change.is_closure else "establishment.hours_reduced",
            actor=user,
            establishment_id=change.establishment.pk,
            reason=change.reason.strip(),
            data={
                "first_day": change.first_day.isoformat(),
                "last_day": change.last_day.isoformat(),
                "area": change.area.name if change.area else None,
                "opens": change.opens.isoformat() if change.opens else None,
                "closes": change.closes.isoformat() if change.closes else None,
                "cancelled": [r.reference for r in cancelled],
            },
        )
        return cancelled


def schedule_exception_lift(
    *, exception: ScheduleException, user: AbstractBaseUser
) -> list[Reservation]:
    """The library opens again on a day it had closed (or gets its usual hours back): the
    exception goes, and the places it had taken away are held for the patrons of the
    waitlist, oldest requests first. Returns those offers."""
    with transaction.atomic():
        # Places first, as a booking and a closure do; then the exception itself.
        places = Resource.objects.filter(establishment_id=exception.establishment_id)
        if exception.area_id is not None:
            places = places.filter(area_id=exception.area_id)
        locked = list(places.select_for_update().order_by("pk"))
        current = (
            ScheduleException.objects.select_for_update(of=("self",))
            .select_related("establishment", "area")
            .filter(pk=exception.pk)
            .first()
        )
        if current is None:
            raise DomainError("not_found", _("This closure has already been lifted."))
        establishment = current.establishment
        current.delete()
        log_action(
            establishment,
            "establishment.closure_lifted",
            actor=user,
            establishment_id=establishment.pk,
            reason=current.reason,
            data={
                "date": current.date.isoformat(),
                "area": current.area.name if current.area else None,
                "closed": current.is_closed,
            },
        )
        start, end = day_bounds(current.date, establishment.tz)
        return waitlist.offer_reopened_places(locked, start, end, now())
