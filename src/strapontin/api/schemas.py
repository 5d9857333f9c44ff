"""What the API answers, and the shared shapes of what it reads. Times are given in the
establishment's zone, with their offset (ISO 8601)."""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, AwareDatetime, Field

from strapontin.reservations.models import Reservation, ReservationState
from strapontin.reservations.selectors import effective_state
from strapontin.venues.models import BookingPolicy
from strapontin.venues.policy import duration_choices

#: Database ids are signed 64-bit integers: larger ones are refused before any query.
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
SLUG_PATTERN = r"^[-a-zA-Z0-9_]{1,60}$"
REFERENCE_PATTERN = r"^[A-Za-z0-9]{1,12}$"
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{16,100}$"  # noqa: S105 - the shape of a token, not one
StateName = Literal[
    "pending",
    "confirmed",
    "checked_in",
    "released",
    "expired",
    "no_show",
    "cancelled",
    "on_break",
    # A freed place held for a waitlist patron (or a closure's rebooking), to be taken.
    "offered",
]
Language = Literal["fr", "en"]


def _storable(value: str) -> str:
    """Text that the databases can store: PostgreSQL refuses NUL, and lone surrogates have
    no UTF-8 encoding."""
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError("not valid Unicode text") from None
    return value


#: Says the same as :func:`_storable` in the OpenAPI document (give it with every Field:
#: a Field given later replaces the constraints of one in ``Annotated``).
NO_NUL = r"^[^\x00]*$"
Text = Annotated[str, AfterValidator(_storable)]


# --- Establishments ---------------------------------------------------------------------------


class EstablishmentSummaryOut(Schema):
    slug: str
    name: str
    organisation: str
    address: str
    timezone: str
    languages: list[str]


class PolicyOut(Schema):
    """What a patron needs to know to book here (an area may have its own)."""

    slot_minutes: int
    min_duration_minutes: int
    max_duration_minutes: int
    durations: list[int] = Field(description="Allowed durations, in minutes.")
    horizon_days: int = Field(description="How many days ahead one can book.")
    day_opens_at: str = Field(
        pattern=r"^[0-2][0-9]:[0-5][0-9]$",
        description="Local hour (HH:MM) at which the last day opens for booking.",
    )
    max_per_day: int = Field(description="Reservations per patron per day here.")
    max_per_week: int
    confirmation: Literal["first", "always"] = Field(
        description="When a confirmation e-mail is asked: `first` unless the request proves "
        "the address (the browser that opened one of its links, or its patron token), "
        "`always` every time."
    )
    confirmation_deadline_minutes: int
    checkin_opens_before_minutes: int = Field(
        description="Presence can be validated from this long before the start…"
    )
    checkin_closes_after_minutes: int = Field(
        description="…until this long after it; then the place goes back to the others."
    )
    noshow_limit: int = Field(description="No-shows that suspend booking here (0: never).")
    noshow_period_days: int
    noshow_suspension_days: int


def policy_out(policy: BookingPolicy) -> dict[str, Any]:
    return {
        "slot_minutes": policy.slot_minutes,
        "min_duration_minutes": policy.min_duration_minutes,
        "max_duration_minutes": policy.max_duration_minutes,
        "durations": duration_choices(policy),
        "horizon_days": policy.horizon_days,
        "day_opens_at": policy.day_opens_at.strftime("%H:%M"),
        "max_per_day": policy.max_per_day,
        "max_per_week": policy.max_per_week,
        "confirmation": policy.confirmation_mode,
        "confirmation_deadline_minutes": policy.confirmation_deadline_minutes,
        "checkin_opens_before_minutes": policy.checkin_opens_before_minutes,
        "checkin_closes_after_minutes": policy.checkin_closes_after_minutes,
        "noshow_limit": policy.noshow_limit,
        "noshow_period_days": policy.noshow_period_days,
        "noshow_suspension_days": policy.noshow_suspension_days,
    }


class AreaOut(Schema):
    id: int
    name: str
    position: int
    policy: PolicyOut | None = Field(description="Only when this area has its own rules.")


class FeatureOut(Schema):
    code: str
    name: str


class PlaceOut(Schema):
    id: int
    label: str
    kind: Literal["seat", "room"]
    capacity: int
    area_id: int
    features: list[str] = Field(description="Feature codes.")


class OpeningOut(Schema):
    start: datetime
    end: datetime


class DayHoursOut(Schema):
    date: date
    openings: list[OpeningOut]
    note: str = Field(description="The reason of a closure or of special hours, if any.")


class OccupancyOut(Schema):
    at: datetime
    open_now: bool
    places: int
    free_now: int
    present: int
    expected: int


class EstablishmentOut(EstablishmentSummaryOut):
    description: str
    contact_email: str
    policy: PolicyOut
    areas: list[AreaOut]
    features: list[FeatureOut]
    places: list[PlaceOut]
    week: list[DayHoursOut] = Field(description="Opening hours from today, for seven days.")
    occupancy: OccupancyOut


# --- Availability -----------------------------------------------------------------------------


class PlaceAvailabilityOut(Schema):
    id: int
    label: str
    kind: Literal["seat", "room"]
    area_id: int
    area: str
    features: list[str]
    free: list[datetime] = Field(description="Starts of the slots still free (not past).")
    selectable: list[datetime] = Field(
        description="Starts at which a reservation of the requested duration fits."
    )


class AvailabilityOut(Schema):
    establishment: str
    date: date
    slot_minutes: int
    duration_minutes: int
    durations: list[int]
    openings: list[OpeningOut]
    note: str
    page: int
    pages: int
    total_places: int
    places: list[PlaceAvailabilityOut]


# --- Reservations -----------------------------------------------------------------------------


class ReservationPlaceOut(Schema):
    id: int
    label: str
    kind: Literal["seat", "room"]
    area: str


class ReservationOut(Schema):
    reference: str = Field(description="Short, readable aloud; not a secret.")
    state: StateName = Field(
        description="As it stands now: an unconfirmed reservation past its deadline reads "
        "expired, a confirmed one past its check-in window reads no_show."
    )
    state_label: str
    establishment: str
    establishment_name: str
    place: ReservationPlaceOut
    email: str
    start: datetime
    end: datetime
    created_at: datetime
    confirmation_deadline: datetime | None
    checkin_opens_at: datetime
    checkin_closes_at: datetime
    checked_in_at: datetime | None
    checkin_method: Literal["", "qr", "code", "kiosk", "desk"]
    cancelled_by: Literal["", "patron", "staff"]
    cancel_reason: str = Field(description="Staff's reason, also written in the e-mail.")
    ended_at: datetime | None


def reservation_out(reservation: Reservation, moment: datetime) -> dict[str, Any]:
    """Expects ``resource__area``, ``establishment`` and ``patron`` selected."""
    tz = reservation.establishment.tz

    def local(value: datetime | None) -> datetime | None:
        return value.astimezone(tz) if value is not None else None

    state = effective_state(reservation, moment)
    return {
        "reference": reservation.reference,
        "state": state,
        "state_label": str(ReservationState(state).label),
        "establishment": reservation.establishment.slug,
        "establishment_name": reservation.establishment.name,
        "place": {
            "id": reservation.resource_id,
            "label": reservation.resource.label,
            "kind": reservation.resource.kind,
            "area": reservation.resource.area.name,
        },
        "email": reservation.patron.email,
        "start": local(reservation.start),
        "end": local(reservation.end),
        "created_at": local(reservation.created_at),
        "confirmation_deadline": local(reservation.confirmation_deadline),
        "checkin_opens_at": local(reservation.checkin_opens_at),
        "checkin_closes_at": local(reservation.checkin_closes_at),
        "checked_in_at": local(reservation.checked_in_at),
        "checkin_method": reservation.checkin_method,
        "cancelled_by": reservation.cancel_cause,
        "cancel_reason": reservation.cancel_reason,
        "ended_at": local(reservation.ended_at),
    }


class BookingIn(Schema):
    place: Id = Field(description="A place id, from the establishment or availability.")
    start: AwareDatetime = Field(
        description="ISO 8601 with its offset, on the slot grid: 2026-03-03T10:00:00+01:00."
    )
    duration: int = Field(ge=1, le=24 * 60, description="Minutes; one of the policy's durations.")
    email: str | None = Field(
        None,
        max_length=254,
        description="Where the confirmation goes. May be left out with a patron token.",
    )
    language: Language | None = Field(
        None, description="Of the e-mails; by default the request's (Accept-Language)."
    )


class CreatedOut(Schema):
    reservation: ReservationOut
    token: str = Field(
        description="Only given here, to whoever booked: Authorization: Bearer <token> on "
        "/reservations/{reference}… until the reservation ends. Keep it secret."
    )
    token_expires_at: datetime


class EmailLinkIn(Schema):
    token: str = Field(
        pattern=TOKEN_PATTERN,
        description="The part of the e-mail's link after /r/: …/r/<token>/confirmer/",
    )


class CheckInIn(Schema):
    code: str = Field(
        min_length=1,
        max_length=20,
        pattern=r"^[A-Za-z0-9 -]{1,20}$",
        description="The establishment code printed under the QR code at the entrance, or "
        "the changing code of its entrance screen.",
    )
    via: Literal["code", "qr"] = Field("code", description="qr when the QR code was scanned.")


class MyReservationsOut(Schema):
    email: str
    verified: bool
    upcoming: list[ReservationOut]
    past: list[ReservationOut] = Field(description="The 50 most recent, newest first.")


# --- Sign-in ----------------------------------------------------------------------------------


class CodeRequestIn(Schema):
    email: str = Field(max_length=254)
    language: Language | None = None


class AcceptedOut(Schema):
    message: str


class CodeVerifyIn(Schema):
    email: str = Field(max_length=254)
    code: str = Field(pattern=r"^[0-9]{6}$", description="The 6 digits of the e-mail.")


class PatronTokenOut(Schema):
    token: str = Field(description="Authorization: Bearer <token>. Keep it secret.")
    expires_at: datetime
    email: str


class PatronOut(Schema):
    email: str
    verified: bool
    language: str


# --- Staff ------------------------------------------------------------------------------------


class StaffEstablishmentOut(Schema):
    slug: str
    name: str
    role: Literal["desk", "manager"]


class StaffReservationOut(ReservationOut):
    can_check_in: bool
    can_cancel: bool


class StaffDayOut(Schema):
    establishment: str
    date: date
    expected: int = Field(description="Still to come: awaiting confirmation or confirmed.")
    present: int = Field(description="Presence validated, not over: in the library now.")
    reservations: list[StaffReservationOut]


class StaffCancelIn(Schema):
    reason: Text = Field(
        min_length=1, max_length=500, pattern=NO_NUL, description="Written in the patron's e-mail."
    )
