"""Fair opening: a new booking day's first requests are drawn by lot, not won by the fastest.

During the window (``venues.policy.fair_window``) a "Réserver" on the opening day records a
``DrawRequest`` instead of a reservation; one per inbox, aliases included, and only a proven
address enters the draw (a stranger's address would otherwise win places in its name). When
the window closes, ``draw_run`` shuffles the entered requests with ``random.Random(seed)``
(``draw_order``) and books each in turn through ``reservation_create``, with every rule of a
booking. The seed is chosen when the day's draw is first needed and only its SHA-256 is shown
until the draw is done; then the seed is published with the order, so anyone can re-run it.

The draw runs from the worker's sweeps and, since deadlines never depend on a worker (I5),
from the first booking of that day after the window (``guard_booking``)."""

import hashlib
import logging
import random
import secrets
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils.formats import time_format
from django.utils.translation import gettext_lazy as _

from strapontin.core.audit import log_action
from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.reservations import lottery_emails
from strapontin.reservations.models import (
    AccessToken,
    Draw,
    DrawRequest,
    DrawRequestState,
    Patron,
    TokenPurpose,
)
from strapontin.reservations.tokens import is_usable
from strapontin.venues.models import BookingPolicy, Establishment, Resource
from strapontin.venues.policy import FairWindow, check_slot, effective_policy, fair_window
from strapontin.venues.schedule import local_date, opening_hours_of

logger = logging.getLogger(__name__)

#: Unproven requests one inbox may have waiting per draw: each sends an e-mail.
UNCONFIRMED_PER_INBOX = 3
#: How long before its window a draw's commitment is published (pages create it then).
COMMIT_AHEAD = timedelta(hours=24)


def commitment_of(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def draw_order(seed: str, references: list[str]) -> list[str]:
    """The drawn order: the references sorted, then shuffled by Python's ``random.Random``
    seeded with ``seed`` (a string seed is hashed with SHA-512, the same on every platform
    and Python 3 version). Anyone can re-run it from the published seed and references;
    every order is equally likely (Fisher–Yates)."""
    order = sorted(references)
    random.Random(seed).shuffle(order)
    return order


def _window_time(moment: datetime, establishment: Establishment) -> str:
    return time_format(moment.astimezone(establishment.tz), "H:i")


def collecting_window(resource: Resource, start: datetime, moment: datetime) -> FairWindow | None:
    """The fair-opening window collecting requests for ``start``'s day right now, if any."""
    establishment = resource.establishment
    policy = effective_policy(establishment, resource.area)
    window = fair_window(policy, local_date(start, establishment.tz), establishment.tz)
    return window if window is not None and window.is_open(moment) else None


def next_window(establishment: Establishment, moment: datetime) -> FairWindow | None:
    """The window collecting requests now, or else the next one to open (fair opening)."""
    policy = effective_policy(establishment)
    if not policy.fair_opening:
        return None
    day = moment.astimezone(establishment.tz).date() + timedelta(days=policy.horizon_days)
    for candidate in (day - timedelta(days=1), day, day + timedelta(days=1)):
        window = fair_window(policy, candidate, establishment.tz)
        if window is not None and moment < window.closes_at:
            return window
    return None


def draw_for(establishment: Establishment, window: FairWindow) -> Draw:
    """The day's draw, its seed chosen (and committed to) the first time it is needed."""
    existing = Draw.objects.filter(establishment=establishment, day=window.day).first()
    if existing is not None:
        if existing.completed_at is None and (existing.opens_at, existing.closes_at) != (
            window.opens_at,
            window.closes_at,
        ):  # the manager moved the window meanwhile: the seed stays, the times follow
            existing.opens_at, existing.closes_at = window.opens_at, window.closes_at
            existing.save(update_fields=["opens_at", "closes_at"])
        return existing
    seed = secrets.token_hex(16)
    try:
        with transaction.atomic():
            draw = Draw.objects.create(
                establishment=establishment,
                day=window.day,
                opens_at=window.opens_at,
                closes_at=window.closes_at,
                seed=seed,
                commitment=commitment_of(seed),
            )
            log_action(
                draw,
                "draw.committed",
                actor=None,
                establishment_id=establishment.pk,
                data={"commitment": draw.commitment, "closes_at": draw.closes_at.isoformat()},
            )
            return draw
    except IntegrityError:  # another request created it meanwhile: theirs is the one
        return Draw.objects.get(establishment=establishment, day=window.day)


def guard_booking(
    *, establishment: Establishment, policy: BookingPolicy, day: date, moment: datetime
) -> None:
    """Called by ``reservation_create`` before anything else: during the window the day is
    not booked but drawn; after it, the draw happens first if no worker has run it (I5)."""
    window = fair_window(policy, day, establishment.tz)
    if window is None or moment < window.opens_at:
        return
    if window.is_open(moment):
        if Draw.objects.filter(
            establishment=establishment, day=day, completed_at__isnull=False
        ).exists():
            return  # drawn already (the window was moved after its draw): booked as usual
        raise DomainError(
            "fair_opening_window",
            _(
                "This day opens by drawing lots: requests are collected until %(time)s, then "
                "the places are drawn among those who asked."
            )
            % {"time": _window_time(window.closes_at, establishment)},
        )
    due = Draw.objects.filter(
        establishment=establishment, day=day, completed_at__isnull=True, closes_at__lte=moment
    ).first()
    if due is not None:
        draw_run(draw=due)


# --- Requests ---------------------------------------------------------------------------------


def draw_request_create(
    *,
    resource: Resource,
    email: str,
    start: datetime,
    end: datetime,
    language: str = "fr",
    known_patron_id: int | None = None,
    flexible: bool = True,
) -> DrawRequest | None:
    """Ask for ``resource`` at [start, end) in the day's draw.

    A browser that proved the address enters at once. Otherwise the request waits for the
    e-mail's link; the answer is the same whether or not the address is known or has asked
    already (no enumeration), and None when the inbox already has its share of links."""
    from strapontin.reservations.services import (
        _check_not_suspended,
        _lock_patron,
        normalise_email,
        same_inbox,
    )

    email = normalise_email(email)
    moment = now()
    establishment = resource.establishment
    if not (resource.is_active and establishment.is_active):
        raise DomainError("not_found", _("This place cannot be booked."))
    policy = effective_policy(establishment, resource.area)
    day = local_date(start, establishment.tz)
    window = fair_window(policy, day, establishment.tz)
    if window is None or not window.is_open(moment):
        raise DomainError("not_collecting", _("No draw is collecting requests for this day."))
    check_slot(policy, opening_hours_of(establishment, day, resource.area), start, end, moment)
    draw = draw_for(establishment, window)
    if draw.completed_at is not None:  # the window was moved after this day's draw
        raise DomainError("not_collecting", _("This day has been drawn already."))
    with transaction.atomic():
        patron = _lock_patron(email, language)
        _check_not_suspended(patron, resource, moment)
        mine = DrawRequest.objects.filter(same_inbox(patron), draw=draw)
        proven = known_patron_id == patron.pk and patron.is_verified
        if proven and mine.filter(state=DrawRequestState.ENTERED).exists():
            raise DomainError(
                "already_requested",
                _("You have already asked for a place in this draw: one request per person."),
            )
        if not proven and (
            mine.filter(state=DrawRequestState.UNCONFIRMED).count() >= UNCONFIRMED_PER_INBOX
        ):
            return None  # silently: the inbox is not to be flooded, and the answer is the same
        request = DrawRequest.objects.create(
            draw=draw,
            patron=patron,
            resource=resource,
            start=start,
            end=end,
            flexible=flexible,
            language=language,
            state=DrawRequestState.ENTERED if proven else DrawRequestState.UNCONFIRMED,
            created_at=moment,
            entered_at=moment if proven else None,
        )
        log_action(
            request,
            "draw_request.entered" if proven else "draw_request.requested",
            actor=patron.email,
            establishment_id=establishment.pk,
        )
        if proven:
            lottery_emails.send_request_entered(request)
        else:
            lottery_emails.send_request_confirmation(request)
        return request


def draw_request_confirm(*, token: AccessToken) -> DrawRequest:
    """The requester opened the e-mail's link and pressed the button: the address is proven,
    the request enters the draw, if the window is still open and the inbox has no other."""
    from strapontin.reservations.services import _lock_patron, same_inbox

    if token.purpose != TokenPurpose.DRAW or token.draw_request_id is None:
        raise DomainError("token_invalid", _("This link is not valid."))
    moment = now()
    with transaction.atomic():
        token = AccessToken.objects.select_for_update().get(pk=token.pk)
        assert token.draw_request is not None
        request = token.draw_request
        if request.state != DrawRequestState.UNCONFIRMED:
            return request
        draw = request.draw
        if not is_usable(token) or moment >= draw.closes_at:
            raise DomainError(
                "draw_closed", _("The requests for this draw closed before it was confirmed.")
            )
        patron = _lock_patron(request.patron.email, request.language)
        request = DrawRequest.objects.select_for_update().get(pk=request.pk)
        token.used_at = moment
        token.save(update_fields=["used_at"])
        if patron.verified_at is None:
            patron.verified_at = moment
            patron.save(update_fields=["verified_at"])
        others = DrawRequest.objects.filter(
            same_inbox(patron), draw=draw, state=DrawRequestState.ENTERED
        )
        if others.exists():
            request.state = DrawRequestState.VOID
            request.outcome = "already_requested"
            request.save(update_fields=["state", "outcome"])
            log_action(
                request,
                "draw_request.duplicate",
                actor=patron.email,
                establishment_id=draw.establishment_id,
            )
            return request
        request.state = DrawRequestState.ENTERED
        request.entered_at = moment
        request.save(update_fields=["state", "entered_at"])
        log_action(
            request,
            "draw_request.entered",
            actor=patron.email,
            establishment_id=draw.establishment_id,
        )
        return request


# --- The draw ---------------------------------------------------------------------------------


def _candidates(request: DrawRequest) -> list[Resource]:
    """The wished place first; if the patron accepts it, the others of its floor and kind."""
    wished = request.resource
    if not request.flexible:
        return [wished]
    alike = Resource.objects.filter(
        area_id=wished.area_id, kind=wished.kind, is_active=True
    ).exclude(pk=wished.pk)
    return [wished, *alike.select_related("area", "establishment")]


def _allocate(request: DrawRequest) -> tuple[int | None, str]:
    """Book for the request through the normal rules: (reservation id, outcome code)."""
    from strapontin.reservations.services import reservation_create

    outcome = "slot_taken"
    for resource in _candidates(request):
        try:
            reservation = reservation_create(
                resource=resource,
                email=request.patron.email,
                start=request.start,
                end=request.end,
                language=request.language,
                known_patron_id=request.patron_id,
            )
        except DomainError as error:
            if error.code == "slot_taken":
                continue
            outcome = error.code  # a limit, an overlap, a suspension: the same for any place
            break
        return reservation.pk, "won"
    return None, outcome


def _lock_draw(draw: Draw, *, skip_locked: bool) -> Draw | None:
    """The draw's row, locked for this transaction (None if skipped: another worker has it).
    A module-level seam, like ``services._place_is_taken``: tests/concurrency replaces it to
    prove that two workers without it do draw twice."""
    return (
        Draw.objects.select_for_update(skip_locked=skip_locked, of=("self",))
        .select_related("establishment")
        .filter(pk=draw.pk)
        .first()
    )


def draw_run(*, draw: Draw, skip_locked: bool = False) -> bool:
    """Run the draw once its window has closed; False if it is not due or already done.

    One transaction: the draw's row is locked and marked done first, so that a second worker
    (or a booking's ``guard_booking``) waits, then finds it done; the bookings made inside see
    it done too and do not start it again."""
    moment = now()
    with transaction.atomic():
        current = _lock_draw(draw, skip_locked=skip_locked)
        if current is None or current.completed_at is not None or current.closes_at > moment:
            return False
        policy = effective_policy(current.establishment)
        window = fair_window(policy, current.day, current.establishment.tz)
        if window is not None and window.closes_at > moment:
            # The manager moved the window later: requests are still being collected.
            current.opens_at, current.closes_at = window.opens_at, window.closes_at
            current.save(update_fields=["opens_at", "closes_at"])
            return False
        current.completed_at = moment
        current.save(update_fields=["completed_at"])
        entered = {
            r.reference: r
            for r in DrawRequest.objects.filter(
                draw=current, state=DrawRequestState.ENTERED
            ).select_related("patron", "resource__area", "resource__establishment")
        }
        results = []
        won = 0
        for position, reference in enumerate(draw_order(current.seed, list(entered)), start=1):
            request = entered[reference]
            reservation_id, outcome = _allocate(request)
            request.position = position
            request.outcome = outcome
            request.reservation_id = reservation_id
            request.state = DrawRequestState.WON if reservation_id else DrawRequestState.LOST
            request.save(update_fields=["position", "outcome", "reservation", "state"])
            log_action(
                request,
                f"draw_request.{request.state}",
                actor=None,
                establishment_id=current.establishment_id,
                data={"position": position, "outcome": outcome},
            )
            if reservation_id is None:
                lottery_emails.send_lost(request)
            else:
                won += 1  # the reservation's own e-mail (confirmed, or to confirm) says so
            results.append({"reference": reference, "position": position, "outcome": outcome})
        void = DrawRequest.objects.filter(draw=current, state=DrawRequestState.UNCONFIRMED)
        void.update(state=DrawRequestState.VOID, outcome="not_confirmed")
        current.results = results
        current.save(update_fields=["results"])
        log_action(
            current,
            "draw.completed",
            actor=None,
            establishment_id=current.establishment_id,
            data={
                "seed": current.seed,
                "commitment": current.commitment,
                "requests": len(entered),
                "allocated": won,
                "order": [r["reference"] for r in results],
            },
        )
        logger.info("Draw %s: %s requests, %s places", current, len(entered), won)
        return True


def sweep_draws(limit: int = 20) -> int:
    """The worker's part: every draw whose window has closed, each in its own transaction."""
    due = Draw.objects.filter(completed_at__isnull=True, closes_at__lte=now()).order_by(
        "closes_at"
    )[:limit]
    return sum(draw_run(draw=draw, skip_locked=True) for draw in due)


def draw_check(draw: Draw, *, using: str = "default") -> list[str]:
    """Re-run ``draw`` from its published seed and say where the stored result differs."""
    problems = []
    if commitment_of(draw.seed) != draw.commitment:
        problems.append("the seed does not match the published commitment")
    if draw.completed_at is None:
        return [*problems, "the draw has not run yet"]
    drawn = DrawRequest.objects.using(using).filter(
        draw=draw, state__in=[DrawRequestState.WON, DrawRequestState.LOST]
    )
    expected = draw_order(draw.seed, [r.reference for r in drawn])
    published = [r["reference"] for r in draw.results]
    if published != expected:
        problems.append(f"published order {published} differs from the re-run {expected}")
    stored = [r.reference for r in drawn.order_by("position")]
    if stored != expected:
        problems.append(f"stored positions {stored} differ from the re-run {expected}")
    reservations = [r.reservation_id for r in drawn if r.state == DrawRequestState.WON]
    if None in reservations or len(set(reservations)) != len(reservations):
        problems.append("a place was allotted twice, or a winner has no reservation")
    return problems


def patron_draw_requests(patron: Patron) -> list[DrawRequest]:
    return list(
        DrawRequest.objects.filter(patron=patron)
        .select_related("draw__establishment", "resource__area")
        .order_by("created_at")
    )
