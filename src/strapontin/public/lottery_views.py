"""Fair opening's pages: asking for a place in the draw, confirming the request from the
e-mail (the two steps of public/links.py), and the public page of a day's draw, where its
commitment, then its seed and result, are published so that anyone can re-run it."""

import json
from datetime import date, datetime
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.public import links, session, throttling
from strapontin.public.forms import DrawRequestForm, slot_value
from strapontin.reservations import lottery
from strapontin.reservations.models import (
    AccessToken,
    Draw,
    DrawRequest,
    DrawRequestState,
    TokenPurpose,
)
from strapontin.reservations.tokens import is_usable
from strapontin.venues.models import Establishment, Resource
from strapontin.venues.policy import FairWindow, effective_policy, fair_window

REMEMBERED_KEY = "draw_request_ids"


def _remember(request: HttpRequest, draw_request: DrawRequest) -> None:
    ids = [i for i in request.session.get(REMEMBERED_KEY, []) if i != draw_request.pk]
    request.session[REMEMBERED_KEY] = [*ids, draw_request.pk][-session.MAX_REMEMBERED :]


def _language(request: HttpRequest) -> str:
    return (getattr(request, "LANGUAGE_CODE", "") or "fr")[:2]


def fair_opening_context(place: Establishment) -> dict[str, Any]:
    """What the establishment page and the grid say about fair opening, if it applies."""
    moment = now()
    window = lottery.next_window(place, moment)
    if window is None:
        return {}
    return {
        "fair_window": window,
        "fair_open_now": window.is_open(moment),
        "last_draw": Draw.objects.filter(establishment=place, completed_at__isnull=False)
        .order_by("-day")
        .first(),
    }


def request_slot(
    request: HttpRequest,
    place: Establishment,
    resource: Resource,
    start: datetime,
    end: datetime,
    duration: int,
    window: FairWindow,
) -> HttpResponse:
    """ "Réserver" on a day whose window is open: the request form, then the request."""
    grid_url = reverse("public:reservation", kwargs={"slug": place.slug})
    context: dict[str, Any] = {
        "establishment": place,
        "resource": resource,
        "start": start,
        "end": end,
        "duration": duration,
        "window": window,
        "slot": slot_value(resource.pk, start),
        "grid_url": f"{grid_url}?{urlencode({'date': window.day.isoformat()})}",
        "draw_url": reverse("public:draw", kwargs={"slug": place.slug, "day": window.day}),
    }
    if request.method != "POST":
        patron = session.known_patron(request)
        context["form"] = DrawRequestForm(initial={"email": patron.email} if patron else {})
        return render(request, "public/draw_request.html", context)
    if wait := throttling.wait_for(request, "booking", per=throttling.BOOKINGS_PER_CLIENT):
        return throttling.too_many(request, wait)
    form = DrawRequestForm(request.POST)
    context["form"] = form
    if not form.is_valid():
        return render(request, "public/draw_request.html", context, status=400)
    try:
        made = lottery.draw_request_create(
            resource=resource,
            email=form.cleaned_data["email"],
            start=start,
            end=end,
            language=_language(request),
            known_patron_id=session.known_patron_id(request),
            flexible=form.cleaned_data["flexible"],
        )
    except DomainError as error:
        form.add_error(None, error.message)
        context["error_code"] = error.code
        return render(request, "public/draw_request.html", context, status=error.status)
    if made is None:  # the inbox had its share of links: the same page, nothing more sent
        context["email"] = form.cleaned_data["email"]
        return render(request, "public/draw_request_sent.html", context)
    _remember(request, made)
    return redirect("public:draw_request_sent", slug=place.slug, reference=made.reference)


@never_cache
@require_safe
def request_sent(request: HttpRequest, slug: str, reference: str) -> HttpResponse:
    draw_request = get_object_or_404(
        DrawRequest.objects.select_related("draw__establishment", "resource__area", "patron"),
        reference=reference,
        draw__establishment__slug=slug,
    )
    if draw_request.pk not in request.session.get(REMEMBERED_KEY, []):
        raise Http404
    draw = draw_request.draw
    return render(
        request,
        "public/draw_request_sent.html",
        {
            "establishment": draw.establishment,
            "draw_request": draw_request,
            "resource": draw_request.resource,
            "start": draw_request.start,
            "end": draw_request.end,
            "email": draw_request.patron.email,
            "window": FairWindow(draw.day, draw.opens_at, draw.closes_at),
            "draw_url": reverse("public:draw", kwargs={"slug": slug, "day": draw.day}),
        },
    )


# --- The e-mail's link (step 2 of public/links.py) --------------------------------------------


def _opened(request: HttpRequest, reference: str) -> AccessToken:
    token = (
        AccessToken.objects.select_related(
            "patron", "draw_request__draw__establishment", "draw_request__resource__area"
        )
        .filter(
            pk__in=links._opened_ids(request),
            purpose=TokenPurpose.DRAW,
            draw_request__reference=reference,
        )
        .order_by("-pk")
        .first()
    )
    if token is None:
        raise links._not_opened()
    return token


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, reference: str) -> HttpResponse:
    """A GET shows the request and its button; only the POST enters it in the draw."""
    try:
        access = _opened(request, reference)
        draw_request = access.draw_request
        assert draw_request is not None
        if request.method == "POST":
            draw_request = lottery.draw_request_confirm(token=access)
            session.remember_patron(request, draw_request.patron)
            _remember(request, draw_request)
        elif draw_request.state == DrawRequestState.UNCONFIRMED and (
            not is_usable(access) or now() >= draw_request.draw.closes_at
        ):
            raise DomainError("draw_closed", _("The requests for this draw are closed."))
    except DomainError as error:
        return links._error(request, error)
    draw = draw_request.draw
    return render(
        request,
        "public/token_draw.html",
        {
            "establishment": draw.establishment,
            "draw_request": draw_request,
            "resource": draw_request.resource,
            "start": draw_request.start,
            "end": draw_request.end,
            "window": FairWindow(draw.day, draw.opens_at, draw.closes_at),
            "draw_url": reverse(
                "public:draw", kwargs={"slug": draw.establishment.slug, "day": draw.day}
            ),
        },
    )


# --- The public page of a draw ----------------------------------------------------------------


@require_safe
def draw_page(request: HttpRequest, slug: str, day: str) -> HttpResponse:
    place = get_object_or_404(Establishment, slug=slug, is_active=True)
    try:
        drawn_day = date.fromisoformat(day)
    except ValueError:
        raise Http404 from None
    draw = Draw.objects.filter(establishment=place, day=drawn_day).first()
    policy = effective_policy(place)
    window = fair_window(policy, drawn_day, place.tz)
    if draw is None and window is not None and now() >= window.opens_at - lottery.COMMIT_AHEAD:
        draw = lottery.draw_for(place, window)  # committed before the window opens
    if draw is None and window is None:
        raise Http404
    if draw is not None:
        window = FairWindow(draw.day, draw.opens_at, draw.closes_at)
    return render(
        request,
        "public/draw.html",
        {
            "establishment": place,
            "draw": draw,
            "day": drawn_day,
            "window": window,
            "entered": draw.requests.exclude(
                state__in=[DrawRequestState.UNCONFIRMED, DrawRequestState.VOID]
            ).count()
            if draw
            else 0,
            "references_literal": json.dumps(
                sorted(r["reference"] for r in draw.results) if draw else []
            ),
        },
    )
