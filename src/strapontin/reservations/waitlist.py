"""The waitlist with a hold: a patron asks for a place (establishment, time, optional area,
kind and features); when a matching place frees up, the oldest waiting request gets it held as
an *offered* reservation for ``offer_hold_minutes``, with a one-tap link to take it. Not taken
in time (or declined), it goes to the next request, then back to everyone.

Every transition that frees a place calls :func:`offer_freed_place` inside its own transaction
(services._freed), so the offer is atomic with the free: audit entry and e-mail included (I4).
A lapsed offer needs no worker (I5): ``overdue_q`` counts it as free once its deadline passes,
and the sweep only makes it visible and passes the place on.

Fair order and no double offer: requests are served oldest first, each locked and re-read
before it is offered, so two frees at once cannot both offer to one request; the place's row
is locked before the offer is inserted, as a booking does (lock order: place, reservations,
request, patron)."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from strapontin.core.audit import log_action
from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.reservations import emails, services
from strapontin.reservations.models import (
    LIVE_WAITLIST_STATES,
    CancelCause,
    Patron,
    Reservation,
    ReservationState,
    WaitlistOrigin,
    WaitlistRequest,
    WaitlistState,
)
from strapontin.venues.models import Area, BookingPolicy, Establishment, Feature, Resource
from strapontin.venues.policy import check_slot, effective_policy
from strapontin.venues.schedule import local_date, opening_hours_of

#: Requests one inbox (aliases included) may keep in line at once.
MAX_LIVE_REQUESTS_PER_INBOX = 3
#: Requests looked at for one freed place: beyond, the place is simply free.
CANDIDATES = 200


# --- Asking -----------------------------------------------------------------------------------


def waitlist_request_create(
    *,
    establishment: Establishment,
    email: str,
    start: datetime,
    end: datetime,
    area: Area | None = None,
    kind: str = "",
    feature_codes: tuple[str, ...] = (),
    language: str = "fr",
) -> WaitlistRequest | None:
    """Put the owner of ``email`` in line for a place matching the wish.

    Returns None, silently, when the inbox already has its share of requests in line: the
    page answers the same either way, so that it tells nobody what an address has asked."""
    email = services.normalise_email(email)
    moment = now()
    if not establishment.is_active:
        raise DomainError("not_found", _("This establishment cannot be booked."))
    if area is not None and area.establishment_id != establishment.pk:
        raise DomainError("not_found", _("This area belongs to another establishment."))
    known = set(Feature.objects.filter(code__in=feature_codes).values_list("code", flat=True))
    if known != set(feature_codes):
        raise DomainError("not_found", _("Unknown feature."))
    policy = effective_policy(establishment, area)
    day = local_date(start, establishment.tz)
    check_slot(policy, opening_hours_of(establishment, day, area), start, end, moment)
    with transaction.atomic():
        patron = services._lock_patron(email, language)
        in_line = WaitlistRequest.objects.filter(
            services.same_inbox(patron), state__in=LIVE_WAITLIST_STATES, start__gt=moment
        ).count()
        if in_line >= MAX_LIVE_REQUESTS_PER_INBOX:
            return None
        request = WaitlistRequest.objects.create(
            patron=patron,
            establishment=establishment,
            area=area,
            kind=kind,
            features=sorted(feature_codes),
            start=start,
            end=end,
            language=language,
            created_at=moment,
        )
        log_action(
            request, "waitlist.requested", actor=patron.email, establishment_id=establishment.pk
        )
        emails.send_waitlist_requested(request)
        return request


def waitlist_request_cancel(*, request: WaitlistRequest) -> WaitlistRequest:
    """The patron leaves the line; a place held for them goes to the next at once."""
    moment = now()
    with transaction.atomic():
        if request.offer_id is not None:  # lock order: the reservation before the request
            offer = services._locked(Reservation(pk=request.offer_id))
            if offer.state == ReservationState.OFFERED:
                _decline(offer, moment, WaitlistState.CANCELLED)
        current = WaitlistRequest.objects.select_for_update().get(pk=request.pk)
        if current.state == WaitlistState.WAITING:
            _end_request(current, WaitlistState.CANCELLED, moment, actor=current.patron.email)
        return current


def _end_request(
    request: WaitlistRequest, state: WaitlistState, moment: datetime, *, actor: str | None
) -> None:
    request.state = state
    request.ended_at = moment
    request.save(update_fields=["state", "ended_at"])
    log_action(request, f"waitlist.{state}", actor=actor, establishment_id=request.establishment_id)


def waitlist_request_expire(*, request: WaitlistRequest) -> bool:
    """Its time began without a place: it leaves the line. False if it moved on meanwhile."""
    moment = now()
    with transaction.atomic():
        current = (
            WaitlistRequest.objects.select_for_update(skip_locked=True)
            .filter(pk=request.pk)
            .first()
        )
        if current is None or current.state != WaitlistState.WAITING or current.start > moment:
            return False
        _end_request(current, WaitlistState.EXPIRED, moment, actor=None)
        return True


# --- Offering ---------------------------------------------------------------------------------


def _matching_requests(
    resource: Resource, start: datetime, end: datetime, moment: datetime
) -> list[int]:
    """Waiting requests that ``resource`` freed over [start, end) could serve, oldest first.
    One query when nobody waits, as for most frees."""
    found = list(
        WaitlistRequest.objects.filter(
            Q(area__isnull=True) | Q(area_id=resource.area_id),
            Q(kind="") | Q(kind=resource.kind),
            establishment_id=resource.establishment_id,
            state=WaitlistState.WAITING,
            start__lt=end,
            end__gt=start,
            start__gt=moment,
        )
        .order_by("created_at", "pk")
        .values_list("pk", "features")[:CANDIDATES]
    )
    if not found:
        return []
    codes = set(resource.features.values_list("code", flat=True))
    return [pk for pk, features in found if set(features) <= codes]


def _lock_waiting(pk: int) -> WaitlistRequest | None:
    """The request, locked and re-read: a free committed meanwhile may have offered it a place
    already (no double offer). A module-level seam, like services._place_is_taken: the tests
    replace it to prove that their harness does see a double offer without it."""
    return (
        WaitlistRequest.objects.select_for_update(of=("self",))
        .select_related("patron")
        .filter(pk=pk, state=WaitlistState.WAITING)
        .first()
    )


def offer_freed_place(reservation: Reservation, moment: datetime) -> list[Reservation]:
    """``reservation`` just gave its place back: hold it for the first matching requests (one
    by one, so that a later request wanting another part of the freed time is served too)."""
    return _offer_place(reservation.resource, reservation.start, reservation.end, moment)


def offer_reopened_places(
    places: list[Resource], start: datetime, end: datetime, moment: datetime
) -> list[Reservation]:
    """A lifted closure gave [start, end) of ``places`` back: offer them to whoever waits, the
    oldest requests first. One query when nobody waits for that time."""
    if (
        not places
        or not WaitlistRequest.objects.filter(
            establishment_id=places[0].establishment_id,
            state=WaitlistState.WAITING,
            start__lt=end,
            end__gt=start,
            start__gt=moment,
        ).exists()
    ):
        return []
    offers: list[Reservation] = []
    for resource in places:
        offers += _offer_place(resource, start, end, moment)
    return offers


def _offer_place(
    resource: Resource, start: datetime, end: datetime, moment: datetime
) -> list[Reservation]:
    if end <= moment or not resource.is_active:
        return []
    candidates = _matching_requests(resource, start, end, moment)
    if not candidates:
        return []
    services._lock_place(resource)
    offers = []
    for pk in candidates:
        request = _lock_waiting(pk)
        if request is None:
            continue
        try:
            offers.append(_offer(request, resource, moment))
        except DomainError:
            continue  # this request cannot have it (closed, taken, limits): the next one may
    return offers


def _offer(request: WaitlistRequest, resource: Resource, moment: datetime) -> Reservation:
    establishment = resource.establishment
    policy = effective_policy(establishment, resource.area)
    day = local_date(request.start, establishment.tz)
    hours = opening_hours_of(establishment, day, resource.area)
    check_slot(policy, hours, request.start, request.end, moment)
    if services._place_is_taken(resource, request.start, request.end, moment):
        raise DomainError("slot_taken", _("Sorry, this place has just been taken."))
    patron = services._lock_patron(request.patron.email, request.language)
    services._check_not_suspended(patron, resource, moment)
    services._check_patron_limits(patron, policy, resource, request.start, request.end, moment)
    services._expire_overdue_on(resource, request.start, request.end, moment)
    offer = hold_place(
        resource=resource,
        patron=patron,
        start=request.start,
        end=request.end,
        language=request.language,
        moment=moment,
        deadline=moment + timedelta(minutes=policy.offer_hold_minutes),
        policy=policy,
        action="reservation.offered",
    )
    request.state = WaitlistState.OFFERED
    request.offer = offer
    request.save(update_fields=["state", "offer"])
    emails.send_offered(offer, request)
    return offer


def hold_place(
    *,
    resource: Resource,
    patron: Patron,
    start: datetime,
    end: datetime,
    language: str,
    moment: datetime,
    deadline: datetime,
    policy: BookingPolicy,
    action: str,
) -> Reservation:
    """Insert the offered reservation (under the place's lock, the place checked free)."""
    offer = Reservation.objects.create(
        establishment=resource.establishment,
        resource=resource,
        patron=patron,
        start=start,
        end=end,
        state=ReservationState.OFFERED,
        language=language,
        created_at=moment,
        offer_deadline=min(deadline, end),
        checkin_opens_at=start - timedelta(minutes=policy.checkin_opens_before_minutes),
        checkin_closes_at=min(start + timedelta(minutes=policy.checkin_closes_after_minutes), end),
    )
    log_action(offer, action, actor=None, establishment_id=resource.establishment_id)
    return offer


# --- Taking, declining, lapsing ---------------------------------------------------------------


def _request_of(offer: Reservation) -> WaitlistRequest | None:
    return (
        WaitlistRequest.objects.select_for_update()
        .filter(offer=offer, state=WaitlistState.OFFERED)
        .first()
    )


def lapse_offer(offer: Reservation, moment: datetime, *, pass_on: bool = True) -> None:
    """The hold ran out (``offer`` locked by the caller): the request has had its turn, and
    the place goes to the next request (``pass_on``), else to everyone."""
    offer.state = ReservationState.EXPIRED
    offer.ended_at = moment
    offer.save(update_fields=["state", "ended_at"])
    log_action(
        offer,
        "reservation.offer_lapsed",
        actor=None,
        establishment_id=offer.establishment_id,
        reason="not taken before the hold ran out",
    )
    request = _request_of(offer)
    if request is not None:
        _end_request(request, WaitlistState.LAPSED, moment, actor=None)
    if pass_on:
        offer_freed_place(offer, moment)


def _decline(
    offer: Reservation, moment: datetime, ending: WaitlistState = WaitlistState.LAPSED
) -> None:
    offer.state = ReservationState.CANCELLED
    offer.cancel_cause = CancelCause.PATRON
    offer.ended_at = moment
    offer.save(update_fields=["state", "cancel_cause", "ended_at"])
    log_action(
        offer,
        "reservation.offer_declined",
        actor=offer.patron.email,
        establishment_id=offer.establishment_id,
    )
    request = _request_of(offer)
    if request is not None:
        _end_request(request, ending, moment, actor=offer.patron.email)
    offer_freed_place(offer, moment)


def offer_take(*, reservation: Reservation) -> Reservation:
    """One tap on "Prendre cette place": the held place becomes a confirmed reservation. The
    link came to the patron's inbox, so the address is verified from now on."""
    moment = now()
    with transaction.atomic():
        current = services._locked(reservation)
        if current.state in (ReservationState.CONFIRMED, ReservationState.CHECKED_IN):
            return current
        if current.state == ReservationState.OFFERED:
            assert current.offer_deadline is not None
            if current.offer_deadline > moment:
                policy = effective_policy(current.establishment, current.resource.area)
                current.state = ReservationState.CONFIRMED
                current.confirmed_at = moment
                # Taken just after the start: the check-in window leaves time to come.
                current.checkin_closes_at = max(
                    current.checkin_closes_at,
                    min(
                        moment + timedelta(minutes=policy.checkin_closes_after_minutes), current.end
                    ),
                )
                current.save(update_fields=["state", "confirmed_at", "checkin_closes_at"])
                if current.patron.verified_at is None:
                    current.patron.verified_at = moment
                    current.patron.save(update_fields=["verified_at"])
                request = _request_of(current)
                if request is not None:
                    _end_request(request, WaitlistState.BOOKED, moment, actor=current.patron.email)
                log_action(
                    current,
                    "reservation.offer_taken",
                    actor=current.patron.email,
                    establishment_id=current.establishment_id,
                )
                emails.send_confirmed(current)
                return current
            lapse_offer(current, moment)
    # Raised after the commit, so that the lapse above is kept.
    if current.state == ReservationState.EXPIRED and current.offer_deadline is not None:
        raise DomainError(
            "offer_lapsed",
            _("The place was held for you until %(time)s; it has gone to the next person.")
            % {"time": f"{current.offer_deadline.astimezone(current.establishment.tz):%H:%M}"},
        )
    raise DomainError("not_offered", _("This place is no longer held for you."))


def offer_decline(*, reservation: Reservation) -> Reservation:
    """ "Non merci": the place goes to the next request at once."""
    moment = now()
    with transaction.atomic():
        current = services._locked(reservation)
        if current.state == ReservationState.OFFERED:
            assert current.offer_deadline is not None
            if current.offer_deadline > moment:
                _decline(current, moment)
            else:
                lapse_offer(current, moment)
        return current


def reservation_lapse_offer(*, reservation: Reservation) -> bool:
    """The sweep's transition: an offer past its deadline lapses and passes the place on;
    False if it has moved on meanwhile (taken, declined, another worker)."""
    moment = now()
    with transaction.atomic():
        current = services._locked(reservation, skip_locked=True)
        if current is None or current.state != ReservationState.OFFERED:
            return False
        assert current.offer_deadline is not None
        if current.offer_deadline > moment:
            return False
        lapse_offer(current, moment)
        return True


def is_live(request: WaitlistRequest, moment: datetime | None = None) -> bool:
    """Still in line (or with a place held) as a patron should read it now (I5)."""
    return request.state in LIVE_WAITLIST_STATES and request.start > (moment or now())


def requests_in_line(patron: Patron) -> list[WaitlistRequest]:
    """The patron's requests still waiting for a place (Mes réservations)."""
    return list(
        WaitlistRequest.objects.filter(
            patron=patron,
            state=WaitlistState.WAITING,
            origin=WaitlistOrigin.PATRON,
            start__gt=now(),
        )
        .select_related("establishment", "area")
        .order_by("start")
    )
