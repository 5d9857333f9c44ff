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
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST, require_safe

from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.desk import permissions, selectors
from strapontin.desk.models import Role
from strapontin.reservations import presence, services
from strapontin.reservations.models import Reservation, Suspension
from strapontin.venues.models import CheckinMode, Establishment
from strapontin.venues.schedule import local_date

#: Reasons staff give most often; free text is always possible.
CANCEL_REASON_PRESETS = [
    gettext_lazy("Exceptional closure"),
    gettext_lazy("Schedule change"),
    gettext_lazy("Place out of order"),
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
    kept = {k: source[k] for k in ("date", "q") if source is not None and source.get(k)}
    return f"{url}?{urlencode(kept)}" if kept else url


@require_safe
@login_required
def home(request: HttpRequest) -> HttpResponse:
    establishments = list(permissions.staff_establishments(request.user))
    return render(request, "desk/home.html", {"establishments": establishments})


@require_safe
@never_cache
@login_required
def day(request: HttpRequest, slug: str) -> HttpResponse:
    establishment = establishment_for(request, slug)
    role = permissions.role_of(request.user, establishment)
    moment = now()
    today = local_date(moment, establishment.tz)
    shown = _day(request.GET.get("date"), today)
    query = request.GET.get("q", "").strip()[:254]
    context = {
        "establishment": establishment,
        "is_manager": role == Role.MANAGER,
        "day": shown,
        "is_today": shown == today,
        "previous_day": shown - timedelta(days=1),
        "next_day": shown + timedelta(days=1),
        "today": today,
        "q": query,
        "desk": selectors.desk_day(establishment, shown, moment, query),
        "suspensions": selectors.active_suspensions(establishment, moment),
        "reason_presets": [str(preset) for preset in CANCEL_REASON_PRESETS],
        "checkin_modes": CheckinMode.choices,
    }
    return render(request, "desk/day.html", context)


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
        messages.error(request, f"{reservation.patron.email}: {error.message}")
    else:
        messages.success(
            request,
            _("Presence validated: %(email)s, %(place)s.")
            % {"email": reservation.patron.email, "place": reservation.resource.label},
        )
    return HttpResponseRedirect(desk_url(establishment, request.POST))


@require_POST
@login_required
def cancel(request: HttpRequest, slug: str, reference: str) -> HttpResponse:
    establishment = establishment_for(request, slug)
    reservation = _reservation(establishment, reference)
    try:
        services.reservation_cancel_by_staff(
            reservation=reservation,
            user=staff_user(request),
            reason=request.POST.get("reason", "")[:500],
        )
    except DomainError as error:
        messages.error(request, f"{reservation.patron.email}: {error.message}")
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
