"""The front desk: today's reservations of one establishment, validate presence, cancel with a
reason, lift suspensions. Thin views: parse, check the role, call one service, say the outcome."""

from datetime import date, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.desk import permissions, selectors
from strapontin.desk.forms import WalkInForm
from strapontin.desk.models import Role
from strapontin.reservations import presence, services
from strapontin.reservations.models import Reservation, ReservationState, Suspension
from strapontin.reservations.selectors import occupancy_now
from strapontin.venues.models import CheckinMode, Establishment
from strapontin.venues.schedule import local_date

#: Reasons staff give most often; free text is always possible.
CANCEL_REASON_PRESETS = [
    gettext_lazy("Exceptional closure"),
    gettext_lazy("Schedule change"),
    gettext_lazy("Place unavailable"),
    gettext_lazy("At the patron's request"),
]


def staff_user(request: HttpRequest) -> AbstractBaseUser:
    assert isinstance(request.user, AbstractBaseUser)
    return request.user


def establishment_for(request: HttpRequest, slug: str, role: Role = Role.DESK) -> Establishment:
    """The establishment named in the URL, if the user holds ``role`` there (404, then 403)."""
    establishment = get_object_or_404(Establishment, slug=slug)
    permissions.require_role(request.user, establishment, role)
    return establishment


#: How far from today the desk looks (a year both ways), so odd dates never overflow.
DAYS_AROUND = 366


def _day(raw: str | None, today: date) -> date:
    """The day asked for in ``?date=``, or today when it is missing, malformed or far off."""
    try:
        asked = date.fromisoformat(raw or "")
    except ValueError:
        return today
    return asked if abs((asked - today).days) <= DAYS_AROUND else today


def desk_url(establishment: Establishment, source: QueryDict | None = None) -> str:
    """The desk page, keeping the day and the search the staff member was looking at."""
    url = reverse("desk:day", args=[establishment.slug])
    kept = {k: source[k] for k in ("date", "q", "state") if source is not None and source.get(k)}
    return f"{url}?{urlencode(kept)}" if kept else url


@require_safe
@login_required
def home(request: HttpRequest) -> HttpResponse:
    establishments = list(permissions.staff_establishments(request.user))
    return render(request, "desk/home.html", {"establishments": establishments})


def _state(raw: str | None) -> str:
    return raw if raw in ReservationState.values else ""


@require_safe
@never_cache
@login_required
def day(request: HttpRequest, slug: str) -> HttpResponse:
    """The day's reservations; an htmx request (the 30-second refresh) gets only the list."""
    return _day_page(request, establishment_for(request, slug))


def _day_page(
    request: HttpRequest,
    establishment: Establishment,
    walk_in_form: WalkInForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The desk page. After a refused walk-in booking (a POST), it comes back with the form as
    typed and its errors, and its links and refresh point at the day page itself."""
    role = permissions.role_of(request.user, establishment)
    moment = now()
    today = local_date(moment, establishment.tz)
    shown = _day(request.GET.get("date"), today)
    query = request.GET.get("q", "").strip()[:254]
    state = _state(request.GET.get("state"))
    desk = selectors.desk_day(establishment, shown, moment, query)
    rows = [row for row in desk.rows if row.state == state] if state else desk.rows
    journal = selectors.audit_by_reservation([row.reservation for row in rows])
    day_url = reverse("desk:day", args=[establishment.slug])
    context = {
        "establishment": establishment,
        "is_manager": role == Role.MANAGER,
        "day_url": day_url,
        "live_url": request.get_full_path() if request.method in ("GET", "HEAD") else day_url,
        "day": shown,
        "is_today": shown == today,
        "previous_day": shown - timedelta(days=1),
        "next_day": shown + timedelta(days=1),
        "today": today,
        "q": query,
        "state": state,
        "states": ReservationState.choices,
        "desk": desk,
        "rows": rows,
        "items": [(row, journal.get(row.reservation.pk, [])) for row in rows],
        "occupancy": occupancy_now(establishment) if shown == today else None,
        "reason_presets": [str(preset) for preset in CANCEL_REASON_PRESETS],
        "as_timeline": request.GET.get("vue") == "frise",
    }
    if context["as_timeline"]:
        context["hours"], context["timeline"] = selectors.desk_timeline(establishment, shown, rows)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "desk/day.html#desk-live", context)
    if walk_in_form is None and shown == today:
        walk_in_form = WalkInForm(establishment=establishment, day=today, moment=moment)
    context |= {
        "suspensions": selectors.active_suspensions(establishment, moment),
        "checkin_modes": CheckinMode.choices,
        "walk_in": walk_in_form,
    }
    return render(request, "desk/day.html", context, status=status)


@require_POST
@login_required
def walk_in(request: HttpRequest, slug: str) -> HttpResponse:
    """Book for a patron standing at the desk: confirmed at once, the slot under way allowed.
    Refused, the desk page comes back with what was typed and why (400)."""
    establishment = establishment_for(request, slug)
    moment = now()
    today = local_date(moment, establishment.tz)
    form = WalkInForm(request.POST, establishment=establishment, day=today, moment=moment)
    if not form.is_valid():
        return _day_page(request, establishment, walk_in_form=form, status=400)
    start, end = form.interval()
    try:
        reservation = services.reservation_create(
            resource=form.cleaned_data["resource"],
            email=form.cleaned_data["email"],
            start=start,
            end=end,
            language=get_language() or "fr",
            booked_by=staff_user(request),
        )
    except DomainError as error:
        form.add_error(None, error.message)
        return _day_page(request, establishment, walk_in_form=form, status=400)
    messages.success(
        request,
        _("Booked for %(email)s: %(place)s, %(start)s–%(end)s.")
        % {
            "email": reservation.patron.email,
            "place": str(reservation.resource),
            "start": date_format(start.astimezone(establishment.tz), "H:i"),
            "end": date_format(end.astimezone(establishment.tz), "H:i"),
        },
    )
    return HttpResponseRedirect(desk_url(establishment) + f"#r-{reservation.reference}")


def _reservation(establishment: Establishment, reference: str) -> Reservation:
    return get_object_or_404(
        Reservation.objects.select_related("resource__area", "patron", "establishment"),
        establishment=establishment,
        reference=reference,
    )


@require_POST
@login_required
def check_in(request: HttpRequest, slug: str, reference: str) -> HttpResponse:
    establishment = establishment_for(request, slug)
    reservation = _reservation(establishment, reference)
    try:
        presence.reservation_check_in_at_desk(reservation=reservation, user=staff_user(request))
    except DomainError as error:
        messages.error(
            request,
            _("The presence of %(email)s is not validated: %(problem)s")
            % {"email": reservation.patron.email, "problem": error.message},
        )
    else:
        messages.success(
            request,
            _("Presence validated: %(email)s, %(place)s.")
            % {"email": reservation.patron.email, "place": str(reservation.resource)},
        )
    return HttpResponseRedirect(desk_url(establishment, request.POST))


@require_POST
@login_required
def start_break(request: HttpRequest, slug: str, reference: str) -> HttpResponse:
    """A present patron tells the desk they step out: the place is kept until the break ends."""
    establishment = establishment_for(request, slug)
    reservation = _reservation(establishment, reference)
    try:
        paused = presence.reservation_start_break(
            reservation=reservation, actor=staff_user(request)
        )
    except DomainError as error:
        messages.error(
            request,
            _("No break for %(email)s: %(problem)s")
            % {"email": reservation.patron.email, "problem": error.message},
        )
    else:
        assert paused.break_ends_at is not None
        messages.success(
            request,
            _("%(email)s is on a break until %(time)s; validate the presence again on return.")
            % {
                "email": reservation.patron.email,
                "time": date_format(paused.break_ends_at.astimezone(establishment.tz), "H:i"),
            },
        )
    return HttpResponseRedirect(desk_url(establishment, request.POST))


def cancel_reason(data: QueryDict) -> str:
    """A preset, free text, or both ("Exceptional closure: water leak"), in the staff member's
    language: the one the preset is written in."""
    preset = data.get("preset", "").strip()
    free = data.get("reason", "").strip()
    if preset and free:
        # Translators: a cancellation reason chosen from a list, then details typed by staff;
        # it follows "Reason:" in the patron's e-mail.
        both = _("%(preset)s (%(details)s)") % {"preset": preset, "details": free}
        return both[:500]
    return (preset or free)[:500]


@require_POST
@login_required
def cancel(request: HttpRequest, slug: str, reference: str) -> HttpResponse:
    establishment = establishment_for(request, slug)
    reservation = _reservation(establishment, reference)
    try:
        services.reservation_cancel_by_staff(
            reservation=reservation,
            user=staff_user(request),
            reason=cancel_reason(request.POST),
        )
    except DomainError as error:
        messages.error(
            request,
            _("The reservation of %(email)s is not cancelled: %(problem)s")
            % {"email": reservation.patron.email, "problem": error.message},
        )
    else:
        messages.success(
            request,
            _("Reservation cancelled; %(email)s receives an e-mail with the reason.")
            % {"email": reservation.patron.email},
        )
    return HttpResponseRedirect(desk_url(establishment, request.POST))


@require_POST
@login_required
def suspension_lift(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    establishment = establishment_for(request, slug)
    suspension = get_object_or_404(
        Suspension.objects.select_related("patron"), establishment=establishment, pk=pk
    )
    presence.suspension_lift(
        suspension=suspension,
        user=staff_user(request),
        reason=request.POST.get("reason", "").strip()[:500],
    )
    messages.success(
        request,
        _("%(email)s can book again.") % {"email": suspension.patron.email},
    )
    return HttpResponseRedirect(desk_url(establishment, request.POST))
