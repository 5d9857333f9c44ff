"""Signing in by e-mailed code, and "Mes réservations" with the patron token."""

from datetime import timedelta
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Status

from strapontin.api import credentials
from strapontin.api.errors import error_responses, limit
from strapontin.api.models import PatronToken
from strapontin.api.reservations import request_language
from strapontin.api.schemas import (
    AcceptedOut,
    CodeRequestIn,
    CodeVerifyIn,
    MyReservationsOut,
    PatronOut,
    PatronTokenOut,
    reservation_out,
)
from strapontin.api.security import PatronTokenAuth
from strapontin.core.clock import now
from strapontin.reservations import selectors

router = Router(tags=["Sign-in and my reservations"])

CODE_REQUESTS_PER_CLIENT = 10
CODE_ATTEMPTS_PER_CLIENT = 20
WINDOW = timedelta(minutes=10)
PAST_SHOWN = 50


def _token(request: HttpRequest) -> PatronToken:
    token = request.auth  # type: ignore[attr-defined]
    assert isinstance(token, PatronToken)
    return token


@router.post(
    "/auth/code",
    response={202: AcceptedOut, **error_responses(400, 422, 429)},
    summary="E-mail a 6-digit sign-in code",
    description="The same answer whatever the address. The code is valid for 10 minutes "
    "and 5 attempts; at most 3 codes per address and hour are sent.",
)
def request_code(request: HttpRequest, payload: CodeRequestIn) -> Status[dict[str, str]]:
    limit(request, "sign_in_code", per=CODE_REQUESTS_PER_CLIENT, window=WINDOW)
    credentials.sign_in_code_request(
        email=payload.email, language=request_language(payload.language)
    )
    return Status(
        202,
        {
            "message": _(
                "A code has been sent to %(email)s. It is valid for 10 minutes; look in the "
                "spam folder if it does not arrive."
            )
            % {"email": payload.email.strip()}
        },
    )


@router.post(
    "/auth/token",
    response={201: PatronTokenOut, **error_responses(400, 422, 429)},
    summary="Exchange the e-mailed code for a patron token",
    description="The address is proven from then on: its next reservations need no "
    "confirmation e-mail (unless the establishment asks for one every time).",
)
def exchange_code(request: HttpRequest, payload: CodeVerifyIn) -> Status[dict[str, Any]]:
    limit(request, "sign_in_verify", per=CODE_ATTEMPTS_PER_CLIENT, window=WINDOW)
    signed_in = credentials.sign_in_code_verify(
        email=payload.email, code=payload.code, language=request_language()
    )
    return Status(
        201,
        {
            "token": signed_in.token,
            "expires_at": signed_in.expires_at,
            "email": signed_in.patron.email,
        },
    )


@router.delete(
    "/auth/token",
    auth=PatronTokenAuth(),
    response={204: None, **error_responses(401)},
    summary="Sign out: revoke this patron token",
)
def revoke(request: HttpRequest) -> Status[None]:
    credentials.patron_token_revoke(token=_token(request))
    return Status(204, None)


@router.get(
    "/me",
    auth=PatronTokenAuth(),
    response={200: PatronOut, **error_responses(401)},
    summary="Who this patron token belongs to",
)
def me(request: HttpRequest) -> dict[str, Any]:
    patron = _token(request).patron
    return {"email": patron.email, "verified": patron.is_verified, "language": patron.language}


@router.get(
    "/me/reservations",
    auth=PatronTokenAuth(),
    response={200: MyReservationsOut, **error_responses(401)},
    summary="My reservations: upcoming, then past",
)
def my_reservations(request: HttpRequest) -> dict[str, Any]:
    patron = _token(request).patron
    upcoming, past = selectors.reservations_of(patron_ids=[patron.pk], reservation_ids=[])
    moment = now()
    return {
        "email": patron.email,
        "verified": patron.is_verified,
        "upcoming": [reservation_out(r, moment) for r in upcoming],
        "past": [reservation_out(r, moment) for r in past[:PAST_SHOWN]],
    }
