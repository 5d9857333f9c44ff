"""The JSON API, version 1, mounted at /api/v1/ (OpenAPI at /api/v1/openapi.json, docs at
/api/v1/docs, served from our own static files)."""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Swagger
from ninja.renderers import JSONRenderer

from strapontin.api import errors, patrons, public, reservations, staff

DESCRIPTION = """
Everything a patron does on the web site, for apps and campus portals; and the front desk's
day, for staff tools. See docs/api.md for a worked example with curl.

Errors are always `{"code", "message"}`: programs read the stable `code`, people the
`message` (in the language of `Accept-Language`). Booking, sign-in and check-in are rate
limited per client: past the limit the answer is 429 with `Retry-After`.

Three kinds of bearer tokens (`Authorization: Bearer <token>`):
**ReservationTokenAuth** comes with a new reservation, to whoever booked it;
**PatronTokenAuth** is given for a code e-mailed to the patron (`/auth/code`, `/auth/token`);
**StaffTokenAuth** is created by an administrator for a staff member.
"""


class Utf8Renderer(JSONRenderer):
    """Names are French: "Démo BU" rather than "D\\u00e9mo BU" in a terminal."""

    json_dumps_params = {"ensure_ascii": False}


class StrapontinAPI(NinjaAPI):
    def create_response(
        self,
        request: HttpRequest,
        data: Any,
        *,
        status: int | None = None,
        temporal_response: HttpResponse | None = None,
    ) -> HttpResponse:
        """Answers carry tokens and personal data: never stored by a cache."""
        response = super().create_response(
            request, data, status=status, temporal_response=temporal_response
        )
        response["Cache-Control"] = "no-store"
        return response


api = StrapontinAPI(
    title="Strapontin",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    renderer=Utf8Renderer(),
    docs=Swagger(settings={"persistAuthorization": False}),
)
errors.install(api)
api.add_router("", public.router)
api.add_router("", reservations.router)
api.add_router("", patrons.router)
api.add_router("", staff.router)


def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    """Addresses under /api/ that name no operation answer in JSON too."""
    return JsonResponse(
        {"code": "not_found", "message": _("No such API address: see /api/v1/docs.")},
        status=404,
    )
