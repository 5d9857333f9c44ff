"""Patron pages: thin adapters that parse, call one service or selector, and map errors."""

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.core.wording import duration_label
from strapontin.public import lottery_views, session, throttling
from strapontin.public.forms import (
    BookingForm,
    GridFiltersForm,
    SignInForm,
    parse_slot,
    slot_value,
)
from strapontin.reservations import forecast, lottery, selectors, services, waitlist
from strapontin.reservations.models import (
    DemoMail,
    Reservation,
    ReservationState,
    Suspension,
)
from strapontin.venues.models import BookingPolicy, Establishment, Feature, Resource, ResourceKind
from strapontin.venues.policy import allowed_domains, effective_policy, last_bookable_day
from strapontin.venues.schedule import opening_hours_of

View = Callable[..., HttpResponseBase]


def _language() -> str:
    return (get_language() or settings.LANGUAGE_CODE)[:2]


def _establishment(slug: str) -> Establishment:
    return get_object_or_404(Establishment, slug=slug, is_active=True)


def _domains_label(policy: BookingPolicy) -> str:
    """ "@univ-example.fr, @etu.univ-example.fr" where booking is restricted, else empty: said
    up front, so that nobody fills in the form with an address that will be refused."""
    return ", ".join(f"@{domain}" for domain in allowed_domains(policy))


# --- Establishments -------------------------------------------------------------------------


@require_safe
def establishments(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "public/establishments.html",
        {
            "establishments": Establishment.objects.filter(is_active=True),
        },
    )


@require_safe
def establishment(request: HttpRequest, slug: str) -> HttpResponse:
    place = _establishment(slug)
    moment = now()
    today = moment.astimezone(place.tz).date()
    week = [opening_hours_of(place, today + timedelta(days=d)) for d in range(7)]
    occupancy = selectors.occupancy_now(place)
    forecasts = forecast.occupancy_forecast(place, week[:2], occupancy.places)
    this_hour = moment.astimezone(place.tz).hour
    return render(
        request,
        "public/establishment.html",
        {
            "establishment": place,
            "today_hours": week[0],
            "week": week,
            "occupancy": occupancy,
            "forecasts": forecasts,
            "forecast_rows": forecast.forecast_rows(forecasts),
            "forecast_weeks": forecast.FORECAST_WEEKS,
            "this_hour": this_hour,
            "usual_now": next((h for h in forecasts[0].hours if h.start.hour == this_hour), None),
            "domains_label": _domains_label(effective_policy(place)),
            **lottery_views.fair_opening_context(place),
        },
    )


@require_safe
def live_occupancy(request: HttpRequest, slug: str) -> JsonResponse:
    """A public feed of the live figures, for campus apps and screens at the entrance."""
    place = _establishment(slug)
    figures = selectors.occupancy_now(place)
    today = figures.at.astimezone(place.tz).date()
    days = [opening_hours_of(place, today + timedelta(days=d)) for d in range(2)]
    forecasts = forecast.occupancy_forecast(place, days, figures.places)
    response = JsonResponse(
        {
            "establishment": place.slug,
            "name": place.name,
            "at": figures.at.isoformat(),
            "open_now": figures.is_open,
            "places": figures.places,
            "free_now": figures.free_now,
            "present": figures.present,
            "expected": figures.expected,
            "on_break": figures.on_break,
            # Places in use on average, hour by hour, on the same weekday of recent weeks.
            "forecast": {
                "weeks": forecast.FORECAST_WEEKS,
                "days": [
                    {
                        "date": day.day.isoformat(),
                        "days_counted": day.days_counted,
                        "hours": [
                            {
                                "start": hour.start.isoformat(),
                                "end": hour.end.isoformat(),
                                "expected": round(hour.expected, 1),
                                "percent": hour.percent,
                            }
                            for hour in day.hours
                        ],
                    }
                    for day in forecasts
                ],
            },
        }
    )
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=30"
    return response


@require_safe
def help_page(request: HttpRequest, slug: str) -> HttpResponse:
    place = _establishment(slug)
    policy = effective_policy(place)
    return render(
        request,
        "public/help.html",
        {
            "establishment": place,
            "policy": policy,
            "confirm_delay": duration_label(policy.confirmation_deadline_minutes),
        },
    )


@require_safe
def privacy(request: HttpRequest) -> HttpResponse:
    """What is kept about patrons, why, and for how long (docs/privacy.md in full)."""
    return render(
        request,
        "public/privacy.html",
        {"establishments": Establishment.objects.filter(is_active=True)},
    )


# --- The reservation grid and booking -------------------------------------------------------


@require_safe
def reservation_grid(request: HttpRequest, slug: str) -> HttpResponse:
    place = _establishment(slug)
    policy = effective_policy(place)
    local_now = now().astimezone(place.tz)
    first_day, last_day = local_now.date(), last_bookable_day(policy, local_now)
    durations = list(
        range(policy.min_duration_minutes, policy.max_duration_minutes + 1, policy.slot_minutes)
    )
    form = GridFiltersForm(
        request.GET or None,
        areas=list(place.areas.values_list("id", "name")),
        durations=[(d, duration_label(d)) for d in durations],
        kinds=list(ResourceKind.choices),
        features=[
            (f.code, f.name)
            for f in Feature.objects.filter(resource__establishment=place).distinct()
        ],
    )
    if request.GET and not form.is_valid():
        return render(
            request,
            "public/grid.html",
            {
                "establishment": place,
                "form": form,
                "grid": None,
                "first_day": first_day,
                "last_day": last_day,
            },
            status=400,
        )
    data = form.cleaned_data if request.GET else {}
    day: date = data.get("date") or first_day
    out_of_range = not (first_day <= day <= last_day)
    grid = None
    if not out_of_range:
        grid = selectors.day_grid(
            place,
            day,
            selectors.GridFilters(
                area_id=data.get("area"),
                kind=data.get("kind") or "",
                feature_codes=tuple(data.get("feature") or ()),
                duration_minutes=data.get("duration"),
                available_only=bool(data.get("free")),
            ),
            page=data.get("page") or 1,
        )
    # The same choices as a list of links, one per free slot, for those who find a list
    # easier than a grid (screen readers, voice control, magnifiers).
    as_list = request.GET.get("vue") == "liste"
    as_grid_query, as_list_query = request.GET.copy(), request.GET.copy()
    as_grid_query.pop("vue", None)
    as_list_query["vue"] = "liste"
    query = request.GET.copy()
    query.pop("page", None)

    def query_for(other_day: date | None) -> str:
        """The same filters on another day."""
        if other_day is None:
            return ""
        moved = query.copy()
        moved["date"] = other_day.isoformat()
        return moved.urlencode()

    previous_day = day - timedelta(days=1) if day > first_day else None
    next_day = day + timedelta(days=1) if day < last_day else None
    return render(
        request,
        "public/grid.html",
        {
            "establishment": place,
            "form": form,
            "grid": grid,
            "day": day,
            "out_of_range": out_of_range,
            "first_day": first_day,
            "last_day": last_day,
            "previous_day": previous_day,
            "next_day": next_day,
            "previous_query": query_for(previous_day),
            "next_query": query_for(next_day),
            "more_filters_used": bool(data.get("kind") or data.get("feature") or data.get("free")),
            "page_query": query.urlencode(),
            "duration_label": duration_label(grid.duration_minutes) if grid else "",
            "as_list": as_list,
            "as_grid_query": as_grid_query.urlencode(),
            "as_list_query": as_list_query.urlencode(),
            **lottery_views.fair_opening_context(place),
            "domains_label": _domains_label(policy),
        },
    )


def _chosen_slot(request: HttpRequest, place: Establishment) -> tuple[Resource, Any, Any, int]:
    source = request.POST if request.method == "POST" else request.GET
    parsed = parse_slot(source.get("slot", ""))
    try:
        duration = int(source.get("duration") or effective_policy(place).min_duration_minutes)
    except ValueError:
        duration = -1
    if parsed is None or not 0 < duration <= 24 * 60:
        raise DomainError("invalid_slot", _("Choose a free time slot in the grid first."))
    resource_id, start = parsed
    resource = (
        Resource.objects.select_related("area", "establishment")
        .filter(pk=resource_id, establishment=place, is_active=True)
        .first()
    )
    if resource is None:
        raise DomainError("not_found", _("This place does not exist or cannot be booked."))
    return resource, start, start + timedelta(minutes=duration), duration


@require_http_methods(["GET", "HEAD", "POST"])
def book(request: HttpRequest, slug: str) -> HttpResponse:
    """Step 3 of the guide: the e-mail address, then the reservation is made."""
    place = _establishment(slug)
    grid_url = reverse("public:reservation", kwargs={"slug": slug})
    try:
        resource, start, end, duration = _chosen_slot(request, place)
    except DomainError as error:
        return render(
            request,
            "public/book.html",
            {"establishment": place, "error": error, "grid_url": grid_url},
            status=400,
        )
    if window := lottery.collecting_window(resource, start, now()):
        return lottery_views.request_slot(request, place, resource, start, end, duration, window)
    context: dict[str, Any] = {
        "establishment": place,
        "resource": resource,
        "start": start,
        "end": end,
        "duration": duration,
        "slot": slot_value(resource.pk, start),
        "domains_label": _domains_label(effective_policy(place, resource.area)),
        "grid_url": f"{grid_url}?{urlencode({'date': start.astimezone(place.tz).date()})}",
    }
    if request.method != "POST":
        patron = session.known_patron(request)
        context["form"] = BookingForm(initial={"email": patron.email} if patron else {})
        return render(request, "public/book.html", context)
    if wait := throttling.wait_for(request, "booking", per=throttling.BOOKINGS_PER_CLIENT):
        return throttling.too_many(request, wait)
    form = BookingForm(request.POST)
    context["form"] = form
    if not form.is_valid():
        return render(request, "public/book.html", context, status=400)
    try:
        reservation = services.reservation_create(
            resource=resource,
            email=form.cleaned_data["email"],
            start=start,
            end=end,
            language=_language(),
            known_patron_id=session.known_patron_id(request),
        )
    except DomainError as error:
        form.add_error(None, error.message)
        context["error_code"] = error.code
        return render(request, "public/book.html", context, status=error.status)
    session.remember_reservation(request, reservation)
    return redirect("public:sent", slug=slug, reference=reservation.reference)


def _owned(request: HttpRequest, reference: str) -> Reservation:
    reservation = get_object_or_404(
        Reservation.objects.select_related("resource__area", "establishment", "patron"),
        reference=reference,
    )
    if not session.owns(request, reservation):
        raise Http404
    return reservation


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def sent(request: HttpRequest, slug: str, reference: str) -> HttpResponse:
    """What happens next; "I received nothing" sends the e-mail again."""
    reservation = _owned(request, reference)
    if request.method == "POST":
        try:
            services.reservation_resend_email(reservation=reservation)
            messages.success(
                request,
                _("The e-mail has been sent again to %(email)s.")
                % {"email": reservation.patron.email},
            )
        except DomainError as error:
            messages.error(request, error.message)
        return redirect("public:sent", slug=slug, reference=reference)
    return render(
        request,
        "public/sent.html",
        {
            "establishment": reservation.establishment,
            "reservation": reservation,
            "state": selectors.effective_state(reservation),
        },
    )


# --- Mes réservations ------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def my_reservations(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    if request.method == "POST":
        wait = throttling.wait_for(request, "sign_in", per=throttling.SIGN_IN_REQUESTS_PER_CLIENT)
        if wait:
            return throttling.too_many(request, wait)
        if form.is_valid():
            try:
                services.patron_request_sign_in(
                    email=form.cleaned_data["email"], language=_language()
                )
            except DomainError as error:
                form.add_error("email", error.message)
            else:
                # The same answer whether the address is known or not: no enumeration.
                messages.info(
                    request,
                    _(
                        "If reservations were made with %(email)s, a sign-in link has just been "
                        "sent there. It is valid for 30 minutes."
                    )
                    % {"email": form.cleaned_data["email"]},
                )
                return redirect("public:my_reservations")
        return render(request, "public/my_reservations.html", {"form": form}, status=400)
    patron = session.known_patron(request)
    known = patron.pk if patron else None
    upcoming, past = selectors.reservations_of(
        patron_ids=[known] if known else [],
        reservation_ids=session.remembered_reservation_ids(request),
    )
    for reservation in upcoming:
        # Offered only where it can be taken: present now, no break yet, breaks allowed here.
        reservation.break_minutes = (  # type: ignore[attr-defined]
            effective_policy(reservation.establishment, reservation.resource.area).break_max_minutes
            if reservation.state == ReservationState.CHECKED_IN
            and reservation.break_ends_at is None
            else 0
        )
    return render(
        request,
        "public/my_reservations.html",
        {
            "form": SignInForm(),
            "patron": patron,
            "suspensions": Suspension.objects.filter(
                patron_id=known, lifted_at__isnull=True, ends_at__gt=now()
            ).select_related("establishment")
            if known
            else [],
            "upcoming": upcoming,
            "waitlist": waitlist.requests_in_line(patron) if patron else [],
            "past": Paginator(past, 30).get_page(1),
            "now": now(),
        },
    )


@require_POST
def my_reservation_cancel(request: HttpRequest, reference: str) -> HttpResponse:
    reservation = _owned(request, reference)
    try:
        services.reservation_cancel_by_patron(reservation=reservation)
        messages.success(
            request,
            _("Your reservation %(ref)s is cancelled; the place is free for others.")
            % {"ref": reservation.reference},
        )
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("public:my_reservations")


@require_POST
def forget_browser(request: HttpRequest) -> HttpResponse:
    session.forget(request)
    return redirect("public:my_reservations")


# --- The demo's mailbox ---------------------------------------------------------------------


def _demo_only() -> None:
    if not settings.DEMO_MAILBOX:
        raise Http404


@never_cache
@require_safe
def demo_mailbox(request: HttpRequest) -> HttpResponse:
    _demo_only()
    return render(
        request,
        "public/mailbox.html",
        {
            "mails": Paginator(DemoMail.objects.all(), 50).get_page(request.GET.get("page")),
        },
    )


@never_cache
@require_safe
def demo_mail(request: HttpRequest, pk: int) -> HttpResponse:
    _demo_only()
    return render(request, "public/mail.html", {"mail": get_object_or_404(DemoMail, pk=pk)})
