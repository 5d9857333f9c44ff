"""The three bearer tokens of the API, as ninja authentication classes (their class names are
the security schemes of the OpenAPI document)."""

from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer

from strapontin.api import credentials
from strapontin.api.models import PatronToken, StaffToken
from strapontin.core.rows import Pending
from strapontin.reservations.models import AccessToken


class ReservationTokenAuth(HttpBearer):
    openapi_description = (
        "The token returned with a new reservation, to its creator only: it reads and acts "
        "on that one reservation until it ends."
    )

    def authenticate(self, request: HttpRequest, token: str) -> AccessToken | None:
        return credentials.reservation_token_find(token)


class PatronTokenAuth(HttpBearer):
    openapi_description = (
        "The token returned by POST /auth/token for a code e-mailed to the patron: their "
        "reservations, and booking without a confirmation e-mail."
    )

    def authenticate(self, request: HttpRequest, token: str) -> PatronToken | None:
        return credentials.patron_token_find(token)


class StaffTokenAuth(HttpBearer):
    openapi_description = (
        "A staff member's token (admin → Staff API tokens, or `strapontin create_api_token`): "
        "acts within the establishments of their roles."
    )

    def authenticate(self, request: HttpRequest, token: str) -> StaffToken | None:
        return credentials.staff_token_find(token)


class _QueuedPatronTokenAuth(PatronTokenAuth):
    def authenticate(  # type: ignore[override]
        self, request: HttpRequest, token: str
    ) -> Pending[PatronToken | None]:
        return credentials.queue_patron_token_find(token)


#: Built once: ninja's authentication classes cost a few dozen microseconds to build, and a
#: booking reads its token through this one.
_queued_patron_token = _QueuedPatronTokenAuth()


def patron_from_header(request: HttpRequest) -> PatronToken | None:
    """For operations where a patron token is optional: None without the header; raises
    401 (through ninja's handler) when a token is sent but is not valid."""
    return queue_patron_from_header(request)()


def queue_patron_from_header(request: HttpRequest) -> Pending[PatronToken | None]:
    """:func:`patron_from_header`, its lookup sent now and read when called: a booking sends
    it with the place's (``core.rows.pipelined``)."""
    if not request.headers.get("Authorization"):
        return lambda: None
    read = _queued_patron_token(request)

    def patron_token() -> PatronToken | None:
        found = read() if read is not None else None
        if found is None:
            raise AuthenticationError()
        return found

    return patron_token
