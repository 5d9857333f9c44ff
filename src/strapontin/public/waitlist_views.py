"""The waitlist's patron pages: asking ("Prévenez-moi quand une place se libère"), and, from
"Mes réservations", taking or declining a place held for you and leaving the line. Thin
adapters over reservations/waitlist.py."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.core.wording import duration_label
from strapontin.public import session, throttling
from strapontin.public.forms import WaitlistForm
from strapontin.reservations import waitlist
from strapontin.reservations.models import Reservation, WaitlistRequest
from strapontin.venues.models import Establishment, Feature, ResourceKind
from strapontin.venues.policy import duration_choices, effective_policy, last_bookable_day
from strapontin.venues.schedule import local_datetime

#: Requests from one client address per window (see public/throttling).
WAITLIST_REQUESTS_PER_CLIENT = 10


def _form(place: Establishment, data: Any = None, initial: Any = None) -> WaitlistForm:
    policy = effective_policy(place)
    return WaitlistForm(
        data,
        initial=initial,
        areas=list(place.areas.values_list("id", "name")),
        durations=[(d, duration_label(d)) for d in duration_choices(policy)],
        kinds=list(ResourceKind.choices),
        features=[
            (f.code, f.name)
            for f in Feature.objects.filter(resource__establishment=place).distinct()
        ],
    )


@require_http_methods(["GET", "HEAD", "POST"])
def join(request: HttpRequest, slug: str) -> HttpResponse:
    place = get_object_or_404(Establishment, slug=slug, is_active=True)
    local_now = now().astimezone(place.tz)
    context: dict[str, Any] = {
        "establishment": place,
        "first_day": local_now.date(),
        "last_day": last_bookable_day(effective_policy(place), local_now),
        "max_requests": waitlist.MAX_LIVE_REQUESTS_PER_INBOX,
        "grid_url": reverse("public:reservation", kwargs={"slug": slug}),
    }
    if request.method != "POST":
        # Prefilled from the grid's filters (its link carries them).
        source = request.GET
        initial = {
            "date": source.get("date") or local_now.date().isoformat(),
            "area": source.get("area") or "",
            "duration": source.get("duration") or "",
            "kind": source.get("kind") or "",
            "feature": source.getlist("feature"),
            "start": source.get("start") or "",
        }
        context["form"] = _form(place, initial=initial)
        return render(request, "public/waitlist_join.html", context)
    if wait := throttling.wait_for(request, "waitlist", per=WAITLIST_REQUESTS_PER_CLIENT):
        return throttling.too_many(request, wait)
    form = _form(place, request.POST)
    context["form"] = form
    if not form.is_valid():
        return render(request, "public/waitlist_join.html", context, status=400)
    data = form.cleaned_data
    start: datetime = local_datetime(data["date"], data["start"], place.tz)
    area = place.areas.filter(pk=data["area"]).first() if data["area"] else None
    try:
        waitlist.waitlist_request_create(
            establishment=place,
            email=form.cleaned_data["email"],
            start=start,
            end=start + timedelta(minutes=data["duration"]),
            area=area,
            kind=data["kind"] or "",
            feature_codes=tuple(data["feature"] or ()),
            language=(get_language() or settings.LANGUAGE_CODE)[:2],
        )
    except DomainError as error:
        form.add_error(None, error.message)
        context["error_code"] = error.code
        return render(request, "public/waitlist_join.html", context, status=error.status)
    # The same answer whether a request was recorded or the inbox had its share already: the
    # page tells nobody what an address has asked.
    context["done"] = True
    context["email"] = form.cleaned_data["email"]
    return render(request, "public/waitlist_join.html", context)


def _owned(request: HttpRequest, reference: str) -> Reservation:
    reservation = get_object_or_404(
        Reservation.objects.select_related("resource__area", "establishment", "patron"),
        reference=reference,
    )
    if not session.owns(request, reservation):
        raise Http404
    return reservation


@require_POST
def my_offer(request: HttpRequest, reference: str) -> HttpResponse:
    """Take (or decline) a held place from "Mes réservations"."""
    reservation = _owned(request, reference)
    try:
        if request.POST.get("action") == "decline":
            waitlist.offer_decline(reservation=reservation)
            messages.success(request, _("The place goes to the next person. Thank you."))
        else:
            waitlist.offer_take(reservation=reservation)
            messages.success(
                request,
                _("The place is yours: reservation %(ref)s is confirmed.")
                % {"ref": reservation.reference},
            )
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("public:my_reservations")


@require_POST
def my_waitlist_leave(request: HttpRequest, reference: str) -> HttpResponse:
    wish = get_object_or_404(WaitlistRequest, reference=reference)
    if wish.patron_id != session.known_patron_id(request):
        raise Http404
    waitlist.waitlist_request_cancel(request=wish)
    messages.success(request, _("You have left the waitlist."))
    return redirect("public:my_reservations")
