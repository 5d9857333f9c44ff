"""The database is down or restarting: answer 503 with ``Retry-After`` at once, never a 500
and never a hang, and let the next request reconnect by itself (CONN_HEALTH_CHECKS).

Django calls ``server_error`` (``handler500``) for any exception that escaped a view or a
middleware; it tells a lost database from a bug by the exception being handled."""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views import defaults

logger = logging.getLogger(__name__)

#: Seconds a client is asked to wait: about what a PostgreSQL restart or failover takes.
RETRY_AFTER_SECONDS = 15
DATABASE_ERRORS = (OperationalError, InterfaceError)


def service_unavailable(request: HttpRequest) -> HttpResponse:
    """The 503 answer, rendered without touching the database (no context processors)."""
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(
            {
                "code": "unavailable",
                "message": _("The service is briefly unavailable. Try again in a moment."),
            },
            status=503,
        )
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    error = sys.exc_info()[1]
    if isinstance(error, DATABASE_ERRORS):
        logger.warning("Database unavailable (%s): answering 503", error)
        return service_unavailable(request)
    return defaults.server_error(request)
