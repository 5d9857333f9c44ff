"""The e-mails of fair opening: the link proving a requester's address, the receipt of a
request entered in the draw, and the result for those the draw left without a place (the
winners get their reservation's own e-mail)."""

from typing import Any

from django.urls import reverse
from django.utils.http import urlencode

from strapontin.reservations.models import DrawRequest, TokenPurpose
from strapontin.reservations.notifications import absolute_url, queue_email
from strapontin.reservations.tokens import issue_token


def _context(request: DrawRequest) -> dict[str, Any]:
    draw = request.draw
    establishment = draw.establishment
    return {
        "reservation": request,  # the details' "Reference" is the request's
        "request": request,
        "establishment": establishment,
        "resource": request.resource,
        "area": request.resource.area,
        "start": request.start,
        "end": request.end,
        "closes_at": draw.closes_at,
        "draw_url": absolute_url(
            reverse("public:draw", kwargs={"slug": establishment.slug, "day": draw.day})
        ),
        "help_url": absolute_url(reverse("public:help", kwargs={"slug": establishment.slug})),
    }


def send_request_confirmation(request: DrawRequest) -> None:
    raw = issue_token(
        purpose=TokenPurpose.DRAW,
        patron=request.patron,
        expires_at=request.draw.closes_at,
        draw_request=request,
    )
    context = _context(request)
    context["confirm_url"] = absolute_url(reverse("public:token_draw", kwargs={"token": raw}))
    queue_email(
        cause="draw_request.confirmation_requested",
        to=request.patron.email,
        template="draw_confirm",
        context=context,
        language=request.language,
    )


def send_request_entered(request: DrawRequest) -> None:
    queue_email(
        cause="draw_request.entered",
        to=request.patron.email,
        template="draw_entered",
        context=_context(request),
        language=request.language,
    )


def send_lost(request: DrawRequest) -> None:
    context = _context(request)
    establishment = request.draw.establishment
    grid = reverse("public:reservation", kwargs={"slug": establishment.slug})
    context["free_url"] = absolute_url(
        f"{grid}?{urlencode({'date': request.draw.day.isoformat(), 'free': 'on'})}"
    )
    queue_email(
        cause="draw_request.lost",
        to=request.patron.email,
        template="draw_lost",
        context=context,
        language=request.language,
    )
