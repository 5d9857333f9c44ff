"""Managers' pages: closures and reduced hours, statistics, the journal. Thin views: parse with
a form, check the role, call one selector or service, say the outcome."""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from strapontin.core import csvexport
from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.desk import selectors
from strapontin.desk.forms import ClosureForm, PeriodForm
from strapontin.desk.models import Role
from strapontin.desk.views import establishment_for, staff_user
from strapontin.reservations.closures import (
    ScheduleChange,
    affected_reservations,
    schedule_change_apply,
    schedule_exception_lift,
)
from strapontin.reservations.models import CancelCause
from strapontin.reservations.statistics import (
    Statistics,
    establishment_statistics,
    statistics_csv_rows,
)
from strapontin.venues.models import Establishment, ScheduleException, Weekday
from strapontin.venues.schedule import local_date

#: Presets for closures; free text is always possible.
CLOSURE_REASON_PRESETS = [gettext_lazy("Exceptional closure"), gettext_lazy("Schedule change")]


def _upcoming_exceptions(establishment: Establishment, today: date) -> list[ScheduleException]:
    return list(
        ScheduleException.objects.filter(establishment=establishment, date__gte=today)
        .select_related("area")
        .order_by("date", "area__position")[:200]
    )


def _change(form: ClosureForm, establishment: Establishment) -> ScheduleChange:
    data = form.cleaned_data
    return ScheduleChange(
        establishment=establishment,
        first_day=data["first_day"],
        last_day=data["last_day"],
        reason=data["reason"],
        area=data["area"],
        opens=data["opens"],
        closes=data["closes"],
    )


@require_http_methods(["GET", "HEAD", "POST"])
@never_cache
@login_required
def closures(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the form. POST: the preview (the affected reservations), or with ``confirm`` the
    change itself — the same form data travels in hidden fields from preview to confirmation."""
    establishment = establishment_for(request, slug, Role.MANAGER)
    today = local_date(now(), establishment.tz)
    form = ClosureForm(request.POST or None, establishment=establishment)
    context: dict[str, object] = {
        "establishment": establishment,
        "form": form,
        "upcoming": _upcoming_exceptions(establishment, today),
        "reason_presets": [str(preset) for preset in CLOSURE_REASON_PRESETS],
    }
    if request.method != "POST" or not form.is_valid():
        return render(request, "desk/closures.html", context, status=400 if form.errors else 200)
    change = _change(form, establishment)
    try:
        if "confirm" in request.POST:
            cancelled = schedule_change_apply(change=change, user=staff_user(request))
        else:
            affected = list(affected_reservations(change))
            return render(
                request, "desk/closures.html", context | {"preview": True, "affected": affected}
            )
    except DomainError as error:
        form.add_error(None, error.message)
        return render(request, "desk/closures.html", context, status=400)
    messages.success(
        request,
        ngettext(
            "Schedule changed; %(n)d reservation cancelled, its patron notified by e-mail.",
            "Schedule changed; %(n)d reservations cancelled, their patrons notified by e-mail.",
            len(cancelled),
        )
        % {"n": len(cancelled)}
        if cancelled
        else _("Schedule changed; no reservation was affected."),
    )
    return HttpResponseRedirect(reverse("desk:closures", args=[establishment.slug]))


@require_http_methods(["POST"])
@never_cache
@login_required
def closure_lift(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Lift one upcoming closure or special hours: the day opens as usual again."""
    establishment = establishment_for(request, slug, Role.MANAGER)
    exception = get_object_or_404(ScheduleException, pk=pk, establishment=establishment)
    try:
        offers = schedule_exception_lift(exception=exception, user=staff_user(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            ngettext(
                "Lifted: the day opens as usual; %(n)d place is held for a patron of the waitlist.",
                "Lifted: the day opens as usual; %(n)d places are held for patrons of the "
                "waitlist.",
                len(offers),
            )
            % {"n": len(offers)}
            if offers
            else _("Lifted: the day opens as usual."),
        )
    return HttpResponseRedirect(reverse("desk:closures", args=[establishment.slug]))


def _statistics(request: HttpRequest, slug: str) -> tuple[Establishment, PeriodForm, Statistics]:
    establishment = establishment_for(request, slug, Role.MANAGER)
    today = local_date(now(), establishment.tz)
    form = PeriodForm(request.GET, today=today)
    first, last = form.period()
    return establishment, form, establishment_statistics(establishment, first, last)


def weekday_names() -> list[str]:
    return [str(label) for _value, label in Weekday.choices]


def chart_data(stats: Statistics) -> dict[str, object]:
    """What the charts draw: exactly the numbers of the tables beside them."""
    return {
        "by_day": {
            "label": _("Reservations per day"),
            "labels": [d.isoformat() for d in stats.by_day],
            "values": list(stats.by_day.values()),
        },
        "by_hour": {
            "label": _("Reservations by starting hour"),
            "labels": [f"{h:02d}:00" for h in stats.by_hour],
            "values": list(stats.by_hour.values()),
        },
        "by_area": {
            "label": _("Reservations per floor or zone"),
            "labels": list(stats.by_area),
            "values": list(stats.by_area.values()),
        },
    }


def cancellation_label(cause: str) -> str:
    labels = {
        "no_show": _("Nobody came (no-show)"),
        "expired": _("Not confirmed in time"),
        CancelCause.PATRON: _("Cancelled by the patron"),
        CancelCause.STAFF: _("Cancelled by the staff"),
    }
    return labels.get(cause, cause)


@require_safe
@never_cache
@login_required
def statistics(request: HttpRequest, slug: str) -> HttpResponse:
    establishment, form, stats = _statistics(request, slug)
    hours = [h for h in range(24) if any(stats.heat[d][h] for d in range(7))]
    data = chart_data(stats)
    heat_rows = [
        (name, [round(stats.heat[d][h], 1) for h in hours])
        for d, name in enumerate(weekday_names())
    ]
    context = {
        "establishment": establishment,
        "form": form,
        "stats": stats,
        "occupancy_percent": round(stats.occupancy * 100, 1),
        "no_show_percent": round(stats.no_show_rate * 100, 1),
        "cancellations": [
            (cancellation_label(c), n) for c, n in sorted(stats.cancellations.items())
        ],
        "heat_hours": hours,
        "heat_rows": heat_rows,
        "data": data,
        "csv_query": f"from={stats.first_day.isoformat()}&to={stats.last_day.isoformat()}",
    }
    return render(request, "desk/statistics.html", context)


@require_safe
@login_required
def statistics_csv(request: HttpRequest, slug: str) -> HttpResponse:
    establishment, _form, stats = _statistics(request, slug)
    name = f"{establishment.slug}-{stats.first_day.isoformat()}-{stats.last_day.isoformat()}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    csvexport.write_rows(response, statistics_csv_rows(stats))
    return response


JOURNAL_PAGE_SIZE = 50


@require_safe
@never_cache
@login_required
def journal(request: HttpRequest, slug: str) -> HttpResponse:
    establishment = establishment_for(request, slug, Role.MANAGER)
    paginator = Paginator(
        selectors.journal(establishment).select_related("actor"), JOURNAL_PAGE_SIZE
    )
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "desk/journal.html", {"establishment": establishment, "page": page})
