"""The front desk through the API, with a staff token: the day's reservations, validating
presence and cancelling with a reason, within the establishments of the user's roles."""

from datetime import date
from typing import Annotated, Any

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from ninja import Path, Query, Router

from strapontin.api.errors import error_responses
from strapontin.api.models import StaffToken
from strapontin.api.public import Slug
from strapontin.api.schemas import (
    NO_NUL,
    REFERENCE_PATTERN,
    ReservationOut,
    StaffCancelIn,
    StaffDayOut,
    StaffEstablishmentOut,
    Text,
    reservation_out,
)
from strapontin.api.security import StaffTokenAuth
from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.desk import permissions, selectors
from strapontin.reservations import presence, services
from strapontin.reservations.models import Reservation
from strapontin.venues.models import Establishment
from strapontin.venues.schedule import local_date

router = Router(tags=["Staff"], auth=StaffTokenAuth())

#: Days further than this from today are refused (date arithmetic overflows near year 9999).
DAYS_AROUND = 3650

Reference = Annotated[
    str, Path(pattern=REFERENCE_PATTERN, description="The reservation's reference.")
]


def _user(request: HttpRequest) -> AbstractBaseUser:
    token = request.auth  # type: ignore[attr-defined]
    assert isinstance(token, StaffToken)
    return token.user


def _establishment(request: HttpRequest, slug: str) -> Establishment:
    """404 for an unknown establishment, 403 where the user has no role (as the desk pages)."""
    establishment = get_object_or_404(Establishment, slug=slug)
    permissions.require_role(_user(request), establishment)
    return establishment


def _reservation(establishment: Establishment, reference: str) -> Reservation:
    return get_object_or_404(
        Reservation.objects.select_related("resource__area", "patron", "establishment"),
        establishment=establishment,
        reference=reference.upper(),
    )


@router.get(
    "/staff/establishments",
    response={200: list[StaffEstablishmentOut], **error_responses(401)},
    summary="The establishments where this token's user has a role",
)
def my_establishments(request: HttpRequest) -> list[dict[str, Any]]:
    user = _user(request)
    found = []
    for establishment in permissions.staff_establishments(user).order_by("name"):
        role = permissions.role_of(user, establishment)
        if role is not None:
            found.append({"slug": establishment.slug, "name": establishment.name, "role": role})
    return found


@router.get(
    "/staff/establishments/{slug}/reservations",
    response={200: StaffDayOut, **error_responses(400, 401, 403, 404, 422)},
    summary="The day's reservations of an establishment",
)
def day(
    request: HttpRequest,
    slug: Slug,
    date: Annotated[date | None, Query(description="YYYY-MM-DD; today by default.")] = None,
    q: Annotated[
        Text, Query("", max_length=254, pattern=NO_NUL, description="E-mail, reference or place.")
    ] = "",
) -> dict[str, Any]:
    establishment = _establishment(request, slug)
    moment = now()
    today = local_date(moment, establishment.tz)
    shown = date or today
    if abs((shown - today).days) > DAYS_AROUND:
        raise DomainError("date_out_of_range", _("This date is too far from today."))
    desk = selectors.desk_day(establishment, shown, moment, q)
    for row in desk.rows:
        row.reservation.establishment = establishment  # one establishment: no query per row
    return {
        "establishment": establishment.slug,
        "date": shown,
        "expected": desk.expected,
        "present": desk.present,
        "reservations": [
            {
                **reservation_out(row.reservation, moment),
                "state": row.state,
                "can_check_in": row.can_check_in,
                "can_cancel": row.can_cancel,
            }
            for row in desk.rows
        ],
    }


@router.post(
    "/staff/establishments/{slug}/reservations/{reference}/check-in",
    response={200: ReservationOut, **error_responses(400, 401, 403, 404, 409, 410, 422)},
    summary="Validate a patron's presence at the front desk",
)
def check_in(request: HttpRequest, slug: Slug, reference: Reference) -> dict[str, Any]:
    establishment = _establishment(request, slug)
    reservation = _reservation(establishment, reference)
    checked = presence.reservation_check_in_at_desk(reservation=reservation, user=_user(request))
    return reservation_out(checked, now())


@router.post(
    "/staff/establishments/{slug}/reservations/{reference}/cancel",
    response={200: ReservationOut, **error_responses(400, 401, 403, 404, 409, 422)},
    summary="Cancel a reservation, with the reason the patron will read",
)
def cancel(
    request: HttpRequest, slug: Slug, reference: Reference, payload: StaffCancelIn
) -> dict[str, Any]:
    establishment = _establishment(request, slug)
    reservation = _reservation(establishment, reference)
    cancelled = services.reservation_cancel_by_staff(
        reservation=reservation, user=_user(request), reason=payload.reason
    )
    return reservation_out(cancelled, now())
