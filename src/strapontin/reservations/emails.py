"""Which e-mail each transition sends, with its links and its calendar attachment.

A booking's e-mails (the confirmation request, the confirmation) are written by the worker
that sends them (``WRITERS``): the transaction only queues them."""

from datetime import datetime
from typing import Any

from django.urls import reverse
from icalendar import Calendar, Event

from strapontin.core.clock import now
from strapontin.reservations.models import (
    Patron,
    Reservation,
    Suspension,
    TokenPurpose,
    WaitlistOrigin,
    WaitlistRequest,
    WaitlistState,
)
from strapontin.reservations.notifications import (
    WRITERS,
    Attachment,
    Written,
    absolute_url,
    queue_email,
    queue_written_at_sending,
    render,
)
from strapontin.reservations.tokens import issue_token


def _context(reservation: Reservation) -> dict[str, Any]:
    tz = reservation.establishment.tz
    return {
        "reservation": reservation,
        "establishment": reservation.establishment,
        "resource": reservation.resource,
        "area": reservation.resource.area,
        "start": reservation.start.astimezone(tz),
        "end": reservation.end.astimezone(tz),
        "my_reservations_url": absolute_url(reverse("public:my_reservations")),
        "help_url": absolute_url(
            reverse("public:help", kwargs={"slug": reservation.establishment.slug})
        ),
    }


def _link(purpose: TokenPurpose, reservation: Reservation, expires_at: datetime) -> str:
    raw = issue_token(
        purpose=purpose, patron=reservation.patron, reservation=reservation, expires_at=expires_at
    )
    return absolute_url(reverse(f"public:token_{purpose}", kwargs={"token": raw}))


def ics_for(reservation: Reservation) -> Attachment:
    calendar = Calendar()
    calendar.add("prodid", "-//Strapontin//Reservations//FR")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", f"{reservation.reference}@strapontin")
    event.add("dtstamp", now())
    event.add("dtstart", reservation.start)
    event.add("dtend", reservation.end)
    event.add("summary", f"{reservation.establishment.name} – {reservation.resource}")
    if reservation.establishment.address:
        event.add("location", reservation.establishment.address)
    event.add("description", f"Réservation / Reservation {reservation.reference}")
    calendar.add_component(event)
    return Attachment(
        filename=f"reservation-{reservation.reference}.ics",
        content=calendar.to_ical().decode(),
        mimetype="text/calendar",
    )


def send_confirmation_request(reservation: Reservation) -> None:
    assert reservation.confirmation_deadline is not None
    queue_written_at_sending(
        cause="reservation.confirmation_requested",
        reservation=reservation,
        writer="confirmation_request",
    )


def write_confirmation_request(reservation: Reservation) -> Written:
    assert reservation.confirmation_deadline is not None
    context = _context(reservation)
    context["confirm_url"] = _link(
        TokenPurpose.CONFIRM, reservation, reservation.confirmation_deadline
    )
    context["cancel_url"] = _link(TokenPurpose.CANCEL, reservation, reservation.end)
    context["deadline"] = reservation.confirmation_deadline.astimezone(reservation.establishment.tz)
    return render(
        template="confirmation_request",
        context=context,
        language=reservation.language,
        reservation=reservation,
    )


def send_confirmed(reservation: Reservation) -> None:
    queue_written_at_sending(
        cause="reservation.confirmed", reservation=reservation, writer="confirmed"
    )


def write_confirmed(reservation: Reservation) -> Written:
    context = _context(reservation)
    context["cancel_url"] = _link(TokenPurpose.CANCEL, reservation, reservation.end)
    return render(
        template="confirmed",
        context=context,
        language=reservation.language,
        reservation=reservation,
        attachments=(ics_for(reservation),),
    )


WRITERS.update(confirmation_request=write_confirmation_request, confirmed=write_confirmed)


def send_cancelled(reservation: Reservation, cause: str = "") -> None:
    """Says why: by the patron, by staff (with their reason), not confirmed in time, not
    validated in time, or not back from a break in time (``cause``, else by its state)."""
    context = _context(reservation)
    context["reservation_url"] = absolute_url(
        reverse("public:reservation", kwargs={"slug": reservation.establishment.slug})
    )
    rebooking = (
        WaitlistRequest.objects.filter(
            replaces=reservation, origin=WaitlistOrigin.REBOOKING, state=WaitlistState.OFFERED
        )
        .select_related("offer__resource__area", "offer__establishment", "offer__patron")
        .first()
    )
    if rebooking is not None and rebooking.offer is not None:
        offer = rebooking.offer
        assert offer.offer_deadline is not None
        tz = offer.establishment.tz
        context["rebooking"] = {
            "reservation": offer,
            "establishment": offer.establishment,
            "resource": offer.resource,
            "area": offer.resource.area,
            "start": offer.start.astimezone(tz),
            "end": offer.end.astimezone(tz),
            "deadline": offer.offer_deadline.astimezone(tz),
            "take_url": _link(TokenPurpose.OFFER, offer, offer.offer_deadline),
        }
    queue_email(
        cause=cause or f"reservation.{reservation.state}",
        to=reservation.patron.email,
        template="cancelled",
        context=context,
        language=reservation.language,
        reservation=reservation,
    )


def send_sign_in_link(patron: Patron, expires_at: datetime) -> None:
    raw = issue_token(purpose=TokenPurpose.SIGN_IN, patron=patron, expires_at=expires_at)
    queue_email(
        cause="patron.sign_in_requested",
        to=patron.email,
        template="sign_in",
        context={
            "sign_in_url": absolute_url(reverse("public:token_sign_in", kwargs={"token": raw})),
            "expires_at": expires_at,
        },
        language=patron.language,
    )


def _validate_url(reservation: Reservation) -> str:
    return absolute_url(reverse("public:validate"))


def send_reminder(reservation: Reservation) -> None:
    context = _context(reservation)
    tz = reservation.establishment.tz
    context["validate_url"] = _validate_url(reservation)
    context["opens"] = reservation.checkin_opens_at.astimezone(tz)
    context["closes"] = reservation.checkin_closes_at.astimezone(tz)
    context["cancel_url"] = _link(TokenPurpose.CANCEL, reservation, reservation.end)
    queue_email(
        cause="reservation.reminder",
        to=reservation.patron.email,
        template="reminder",
        context=context,
        language=reservation.language,
        reservation=reservation,
    )


def send_suspended(suspension: Suspension) -> None:
    tz = suspension.establishment.tz
    queue_email(
        cause="patron.suspended",
        to=suspension.patron.email,
        template="suspended",
        context={
            "establishment": suspension.establishment,
            "suspension": suspension,
            "ends_at": suspension.ends_at.astimezone(tz),
            "my_reservations_url": absolute_url(reverse("public:my_reservations")),
        },
        language=suspension.patron.language,
    )


def send_offered(offer: Reservation, request: WaitlistRequest) -> None:
    """A place freed up for a waitlist request: held until ``offer_deadline``, one tap takes it."""
    assert offer.offer_deadline is not None
    context = _context(offer)
    context["take_url"] = _link(TokenPurpose.OFFER, offer, offer.offer_deadline)
    context["deadline"] = offer.offer_deadline.astimezone(offer.establishment.tz)
    queue_email(
        cause="reservation.offered",
        to=offer.patron.email,
        template="offered",
        context=context,
        language=offer.language,
        reservation=offer,
    )


def send_waitlist_requested(request: WaitlistRequest) -> None:
    """What was asked, and how to leave the line."""
    tz = request.establishment.tz
    raw = issue_token(
        purpose=TokenPurpose.WAITLIST,
        patron=request.patron,
        waitlist_request=request,
        expires_at=request.end,
    )
    queue_email(
        cause="waitlist.requested",
        to=request.patron.email,
        template="waitlist_requested",
        context={
            "request": request,
            "establishment": request.establishment,
            "start": request.start.astimezone(tz),
            "end": request.end.astimezone(tz),
            "leave_url": absolute_url(reverse("public:token_waitlist", kwargs={"token": raw})),
            "my_reservations_url": absolute_url(reverse("public:my_reservations")),
        },
        language=request.language,
    )
