"""Booking and the patron's actions on a reservation: thin adapters that parse, call the same
service as the web, and answer. A reservation is reached with the token given to whoever
booked it, or with the patron token of its owner."""

from datetime import UTC, timedelta
from typing import Annotated, Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from ninja import Path, Router, Status

from strapontin.api import credentials
from strapontin.api.errors import error_responses, limit, queue_limit
from strapontin.api.models import PatronToken
from strapontin.api.schemas import (
    REFERENCE_PATTERN,
    BookingIn,
    CheckInIn,
    CreatedOut,
    EmailLinkIn,
    ReservationOut,
    reservation_out,
)
from strapontin.api.security import (
    PatronTokenAuth,
    ReservationTokenAuth,
    patron_from_header,
    queue_patron_from_header,
)
from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.core.rows import one_write_lock, read_together
from strapontin.reservations import booking_queries, presence, services
from strapontin.reservations.models import (
    AccessToken,
    CheckinMethod,
    Reservation,
    TokenPurpose,
)
from strapontin.reservations.tokens import find_token
from strapontin.venues import codes

router = Router(tags=["Reservations"])

BOOKINGS_PER_CLIENT: int = settings.BOOKINGS_PER_CLIENT
CHECKINS_PER_CLIENT = 30
WRONG_CODES_PER_CLIENT = 10
WINDOW = timedelta(minutes=10)
#: Starts this far from now are refused before any date arithmetic (which would overflow
#: near year 1 or 9999); no booking horizon comes close.
SANE_RANGE = timedelta(days=3650)

Reference = Annotated[
    str, Path(pattern=REFERENCE_PATTERN, description="The reservation's reference.")
]
BY_TOKEN = [ReservationTokenAuth(), PatronTokenAuth()]


def request_language(chosen: str | None = None) -> str:
    if chosen:
        return chosen
    current = (get_language() or settings.LANGUAGE_CODE)[:2]
    return current if current in {"fr", "en"} else settings.LANGUAGE_CODE


def _selected() -> QuerySet[Reservation]:
    return Reservation.objects.select_related("resource__area", "establishment", "patron")


def reservation_of(request: HttpRequest, reference: str) -> Reservation:
    """The reservation named by ``reference``, if the request's token reaches it."""
    access = request.auth  # type: ignore[attr-defined]
    found = _selected().filter(reference=reference.upper())
    if isinstance(access, AccessToken):
        found = found.filter(pk=access.reservation_id or 0)
    elif isinstance(access, PatronToken):
        found = found.filter(patron_id=access.patron_id)
    else:
        found = found.none()
    reservation = found.first()
    if reservation is None:
        raise DomainError("not_found", _("No reservation with this reference for this token."))
    return reservation


def _out(reservation: Reservation) -> dict[str, Any]:
    return reservation_out(reservation, now())


@router.post(
    "/reservations",
    response={201: CreatedOut, **error_responses(400, 401, 404, 409, 422, 429)},
    summary="Book a place",
    description="The same rules as the web. With the patron token of a verified address "
    "(`Authorization: Bearer`), the reservation is confirmed at once unless the establishment "
    "asks for a confirmation every time; otherwise it follows the confirmation policy, and "
    "the e-mail's link (or `POST /email-links/confirm`) confirms it.",
    openapi_extra={"security": [{"PatronTokenAuth": []}, {}]},
)
def create(request: HttpRequest, payload: BookingIn) -> Status[dict[str, Any]]:
    moment = now()
    start = payload.start
    if not moment - SANE_RANGE <= start <= moment + SANE_RANGE:
        limit(request, "booking", per=BOOKINGS_PER_CLIENT, window=WINDOW)
        patron_from_header(request)  # a bad token is a 401 first, as for any other booking
        if start < moment:
            raise DomainError("slot_in_past", _("This time slot has already started or passed."))
        raise DomainError("beyond_horizon", _("This date is too far ahead."))
    start, end = start.astimezone(UTC), start.astimezone(UTC) + timedelta(minutes=payload.duration)
    # Counted in Redis while the token and the place are read from PostgreSQL (one round trip,
    # the connection's check included): one wait for both. Without Redis, counted when checked.
    check_limit = queue_limit(request, "booking", per=BOOKINGS_PER_CLIENT, window=WINDOW)
    try:
        read_token, read_place = read_together(
            lambda: (
                queue_patron_from_header(request),
                booking_queries.queue_place_and_whether_held(payload.place, start, end, moment),
            )
        )
    except BaseException:
        check_limit()  # past the limit: 429, whatever was read
        raise
    with one_write_lock():  # SQLite: the count and the token's last use, one transaction
        check_limit()
        signed_in = read_token()
    resource, held = read_place()
    if resource is None:
        raise DomainError("not_found", _("This place does not exist or cannot be booked."))
    email = payload.email if payload.email is not None else ""
    if not email and signed_in is not None:
        email = signed_in.patron.email
    tokens: list[str] = []
    reservation = services.reservation_create(
        resource=resource,
        email=email,
        start=start,
        end=end,
        held_when_found=held,
        language=request_language(payload.language),
        known_patron_id=signed_in.patron_id if signed_in is not None else None,
        # A retried transaction issues a token again: the last one is the one committed.
        with_booking=lambda booked: tokens.append(
            credentials.reservation_token_issue(reservation=booked)
        ),
    )
    return Status(
        201,
        {
            "reservation": _out(reservation),
            "token": tokens[-1],
            "token_expires_at": reservation.end.astimezone(resource.establishment.tz),
        },
    )


@router.get(
    "/reservations/{reference}",
    auth=BY_TOKEN,
    response={200: ReservationOut, **error_responses(401, 404, 422)},
    summary="Read a reservation",
)
def read(request: HttpRequest, reference: Reference) -> dict[str, Any]:
    return _out(reservation_of(request, reference))


@router.post(
    "/reservations/{reference}/cancel",
    auth=BY_TOKEN,
    response={200: ReservationOut, **error_responses(400, 401, 404, 409, 422)},
    summary="Cancel a reservation",
    description="Until it starts being used: a reservation whose presence is validated is "
    "left early instead.",
)
def cancel(request: HttpRequest, reference: Reference) -> dict[str, Any]:
    reservation = reservation_of(request, reference)
    return _out(services.reservation_cancel_by_patron(reservation=reservation))


@router.post(
    "/reservations/{reference}/check-in",
    auth=BY_TOKEN,
    response={200: ReservationOut, **error_responses(400, 401, 404, 409, 410, 422, 429)},
    summary="Validate presence with the establishment's code",
    description="Inside the check-in window only (`checkin_opens_at` to "
    "`checkin_closes_at`); a repeated check-in changes nothing.",
)
def check_in(request: HttpRequest, reference: Reference, payload: CheckInIn) -> dict[str, Any]:
    limit(request, "checkin", per=CHECKINS_PER_CLIENT, window=WINDOW)
    reservation = reservation_of(request, reference)
    kind = codes.matches(reservation.establishment, payload.code, now())
    if kind is None:
        limit(request, "checkin_wrong_code", per=WRONG_CODES_PER_CLIENT, window=WINDOW)
        raise DomainError("invalid_code", _("This code is not the establishment's code."))
    if kind == "rotating":
        method = CheckinMethod.KIOSK
    else:
        method = CheckinMethod.QR if payload.via == "qr" else CheckinMethod.CODE
    checked = presence.reservation_check_in(
        reservation=reservation, method=method, actor=reservation.patron.email
    )
    return _out(checked)


@router.post(
    "/reservations/{reference}/leave",
    auth=BY_TOKEN,
    response={200: ReservationOut, **error_responses(400, 401, 404, 422)},
    summary="Leave early: the rest of the slot is free for others at once",
)
def leave(request: HttpRequest, reference: Reference) -> dict[str, Any]:
    reservation = reservation_of(request, reference)
    return _out(presence.reservation_leave_early(reservation=reservation))


@router.post(
    "/reservations/{reference}/resend-email",
    auth=BY_TOKEN,
    response={200: ReservationOut, **error_responses(400, 401, 404, 410, 422)},
    summary="Send the e-mail that matters now again (confirmation request or confirmation)",
)
def resend_email(request: HttpRequest, reference: Reference) -> dict[str, Any]:
    reservation = reservation_of(request, reference)
    services.reservation_resend_email(reservation=reservation)
    return _out(reservation)


def _by_link(token: str, purpose: TokenPurpose) -> Reservation:
    access = find_token(token, purpose)
    reservation = _selected().filter(pk=access.reservation_id or 0).first()
    if reservation is None:
        raise DomainError("token_invalid", _("This link is not valid."))
    return reservation


@router.post(
    "/email-links/confirm",
    response={200: ReservationOut, **error_responses(400, 404, 409, 410, 422)},
    tags=["E-mail links"],
    summary="Confirm a reservation with the token of the e-mail's link",
    description="What clicking “Confirmer ma réservation” does: the link is "
    "`…/r/<token>/confirmer/`. It proves the address, which needs no confirmation afterwards.",
)
def confirm_by_link(request: HttpRequest, payload: EmailLinkIn) -> dict[str, Any]:
    reservation = _by_link(payload.token, TokenPurpose.CONFIRM)
    return _out(services.reservation_confirm(reservation=reservation))


@router.post(
    "/email-links/cancel",
    response={200: ReservationOut, **error_responses(400, 404, 409, 422)},
    tags=["E-mail links"],
    summary="Cancel a reservation with the token of the e-mail's link",
    description="What “Annuler ma réservation” does: the link is `…/r/<token>/annuler/`.",
)
def cancel_by_link(request: HttpRequest, payload: EmailLinkIn) -> dict[str, Any]:
    reservation = _by_link(payload.token, TokenPurpose.CANCEL)
    return _out(services.reservation_cancel_by_patron(reservation=reservation))
