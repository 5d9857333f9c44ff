"""Rebooking after a closure: before staff's closure cancels a reservation, an equivalent free
place (same time, same kind, at least the same capacity and features; another area of the
establishment first, then another establishment of the same organisation) is held for the
patron, and the cancellation e-mail carries a one-tap link to take it.

The hold is the waitlist's: an offered reservation, tied to a request of origin "rebooking"
that ``replaces`` the cancelled one. It lasts until the slot begins (at most a day, at least
the policy's hold); not taken, it goes to the waitlist, then to everyone."""

from datetime import datetime, timedelta

from django.db.models import Case, IntegerField, Q, Value, When

from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.core.intervals import overlap_q
from strapontin.reservations import services, waitlist
from strapontin.reservations.models import (
    Reservation,
    WaitlistOrigin,
    WaitlistRequest,
    WaitlistState,
)
from strapontin.venues.models import Resource
from strapontin.venues.policy import check_slot, effective_policy
from strapontin.venues.schedule import local_date, opening_hours_of

#: The longest a rebooking is held: a closure may be announced days ahead.
LONGEST_HOLD = timedelta(hours=24)
#: Places looked at for one reservation.
CANDIDATES = 200


def equivalent_places(reservation: Reservation) -> list[Resource]:
    """Places that could replace ``reservation``'s, best first: same establishment (another
    area), then the organisation's other establishments. Closed hours are checked later."""
    original = reservation.resource
    establishment = reservation.establishment
    scope = Q(establishment_id=establishment.pk)
    if establishment.organisation.strip():
        scope |= Q(establishment__organisation=establishment.organisation)
    codes = set(original.features.values_list("code", flat=True))
    found = (
        Resource.objects.filter(
            scope,
            is_active=True,
            establishment__is_active=True,
            kind=original.kind,
            capacity__gte=original.capacity,
        )
        .exclude(pk=original.pk)
        .annotate(
            elsewhere=Case(
                When(establishment_id=establishment.pk, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .select_related("area", "establishment")
        .prefetch_related("features")
        .order_by("elsewhere", "establishment__name", "area__position", "position", "pk")
    )[:CANDIDATES]
    return [place for place in found if codes <= {f.code for f in place.features.all()}]


def propose_rebooking(
    reservation: Reservation, moment: datetime | None = None
) -> Reservation | None:
    """Hold an equivalent free place for the patron of ``reservation``, which the caller is
    about to cancel in the same transaction; None when there is none."""
    moment = moment or now()
    if reservation.start <= moment:
        return None
    patron = reservation.patron
    for place in equivalent_places(reservation):
        policy = effective_policy(place.establishment, place.area)
        day = local_date(reservation.start, place.establishment.tz)
        try:
            check_slot(
                policy,
                opening_hours_of(place.establishment, day, place.area),
                reservation.start,
                reservation.end,
                moment,
            )
        except DomainError:
            continue
        if services._place_is_taken(place, reservation.start, reservation.end, moment):
            continue
        services._lock_place(place)
        if services._place_is_taken(place, reservation.start, reservation.end, moment):
            continue
        if services.active_suspension(patron, place.establishment_id, moment) is not None:
            continue
        # I2, leaving out the reservation this one replaces (cancelled in this transaction).
        if (
            Reservation.objects.filter(
                services.holding_q(moment),
                services.same_inbox(patron),
                overlap_q(reservation.start, reservation.end),
            )
            .exclude(pk=reservation.pk)
            .exists()
        ):
            return None
        services._expire_overdue_on(place, reservation.start, reservation.end, moment)
        until = max(
            min(reservation.start, moment + LONGEST_HOLD),
            moment + timedelta(minutes=policy.offer_hold_minutes),
        )
        offer = waitlist.hold_place(
            resource=place,
            patron=patron,
            start=reservation.start,
            end=reservation.end,
            language=reservation.language,
            moment=moment,
            deadline=until,
            policy=policy,
            action="reservation.offered_for_rebooking",
        )
        WaitlistRequest.objects.create(
            patron=patron,
            establishment=place.establishment,
            start=reservation.start,
            end=reservation.end,
            state=WaitlistState.OFFERED,
            origin=WaitlistOrigin.REBOOKING,
            language=reservation.language,
            created_at=moment,
            offer=offer,
            replaces=reservation,
        )
        return offer
    return None


def rebooking_for(reservation: Reservation) -> Reservation | None:
    """The place held for the patron of ``reservation`` (cancelled by a closure), if any."""
    found = (
        WaitlistRequest.objects.filter(
            replaces=reservation, origin=WaitlistOrigin.REBOOKING, state=WaitlistState.OFFERED
        )
        .select_related("offer__resource__area", "offer__establishment", "offer__patron")
        .first()
    )
    return found.offer if found is not None else None
