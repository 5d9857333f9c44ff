"""Every error of the API has one shape, ``{"code", "message"}``: programs read the stable
code, people read the message (in the request's language). Domain errors keep the code and
the status their service gave them; nothing here decides a rule."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from pydantic import Field

from strapontin.core import throttle
from strapontin.core.clients import client_address
from strapontin.core.errors import DomainError


class ErrorDetail(Schema):
    loc: list[str] = Field(description="Where: source (body, query, path), then field names.")
    message: str


class ErrorOut(Schema):
    code: str = Field(
        description="Stable, for programs: slot_taken, outside_opening_hours, limit_reached, "
        "checkin_window_closed, invalid_input, unauthorized, too_many_requests, …",
        examples=["slot_taken"],
    )
    message: str = Field(description="For people, in the language of Accept-Language.")
    errors: list[ErrorDetail] | None = Field(
        None, description="With invalid_input: each field that was refused."
    )


def error_responses(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The error statuses an operation may answer, for the OpenAPI document."""
    return dict.fromkeys(statuses, ErrorOut)


class TooManyRequests(Exception):
    def __init__(self, wait: int) -> None:
        super().__init__(wait)
        self.wait = wait


def client_of(request: HttpRequest) -> str:
    """The client address, as the web's check-in page counts it (see core/clients)."""
    return client_address(request)


def limit(request: HttpRequest, scope: str, *, per: int, window: timedelta) -> None:
    """Count this request against ``scope`` for its client; 429 past ``per`` in ``window``."""
    queue_limit(request, scope, per=per, window=window)()


def queue_limit(
    request: HttpRequest, scope: str, *, per: int, window: timedelta
) -> Callable[[], None]:
    """:func:`limit`, counted now, its 429 raised when called (``throttle.queue_hit``)."""
    read = throttle.queue_hit(f"api.{scope}", client_of(request), limit=per, window=window)

    def check() -> None:
        wait = read()
        if wait:
            raise TooManyRequests(wait)

    return check


def _respond(
    api: NinjaAPI, request: HttpRequest, status: int, code: str, message: str, **extra: Any
) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, **extra}, status=status)


def install(api: NinjaAPI) -> None:
    """Replace ninja's default error bodies with ours."""

    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return _respond(api, request, exc.status, exc.code, exc.message)

    def invalid_input(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        details = [
            {
                "loc": [str(part) for part in error.get("loc", ())],
                "message": str(error.get("msg", "")),
            }
            for error in exc.errors
        ]
        return _respond(
            api, request, 422, "invalid_input", _("Some fields are not valid."), errors=details
        )

    def unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = _respond(
            api,
            request,
            401,
            "unauthorized",
            _("A valid token is needed: Authorization: Bearer <token>."),
        )
        response["WWW-Authenticate"] = "Bearer"
        return response

    def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return _respond(api, request, 403, "forbidden", _("Your role does not allow this here."))

    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return _respond(api, request, 404, "not_found", _("Not found."))

    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        # ninja raises these itself for a body it cannot parse.
        if exc.status_code == 400:
            return _respond(
                api, request, 400, "malformed_request", _("The request body is not valid JSON.")
            )
        return _respond(api, request, exc.status_code, "http_error", str(exc))

    def too_many(request: HttpRequest, exc: TooManyRequests) -> HttpResponse:
        response = _respond(
            api,
            request,
            429,
            "too_many_requests",
            _("Too many attempts. Try again in %(seconds)s seconds.") % {"seconds": exc.wait},
        )
        response["Retry-After"] = str(exc.wait)
        return response

    api.exception_handler(DomainError)(domain_error)
    api.exception_handler(ValidationError)(invalid_input)
    api.exception_handler(AuthenticationError)(unauthorized)
    api.exception_handler(PermissionDenied)(forbidden)
    api.exception_handler(Http404)(not_found)
    api.exception_handler(HttpError)(http_error)
    api.exception_handler(TooManyRequests)(too_many)
