"""Validating presence: /reservation/validate, reached by scanning the entrance QR code or
typed by hand, and "Libérer ma place". A GET only shows; the POST validates."""

from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from strapontin.core import throttle
from strapontin.core.clients import client_address
from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.public import session
from strapontin.public.views import _owned
from strapontin.reservations import presence
from strapontin.reservations.models import Patron, Reservation, ReservationState
from strapontin.venues import codes
from strapontin.venues.models import CheckinMode, Establishment

WRONG_CODES_PER_CLIENT = 10
WRONG_CODES_PER_ESTABLISHMENT = 200
WINDOW = timedelta(minutes=10)


class CheckinForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("Establishment code"), max_length=20)
    email = forms.EmailField(
        label=gettext_lazy("The e-mail address you booked with"), max_length=254, required=False
    )


def establishment_for_code(raw: str) -> Establishment | None:
    """The static code names its establishment; a rotating code is tried on each
    establishment that shows one (a handful per installation)."""
    code = codes.normalise_code(raw)
    if not code:
        return None
    moment = now()
    candidates = Establishment.objects.filter(is_active=True)
    static = candidates.filter(checkin_code__iexact=code).first()
    if static is not None and codes.matches(static, code, moment):
        return static
    for establishment in candidates.exclude(checkin_mode=CheckinMode.STATIC):
        if codes.matches(establishment, code, moment) == "rotating":
            return establishment
    return None


def _known_patrons(request: HttpRequest) -> list[Patron]:
    """Who this browser can validate for without typing: the patron it proved, or the owners
    of the reservations it booked itself."""
    known = session.known_patron_id(request)
    ids = {known} if known else set()
    ids |= set(
        Reservation.objects.filter(pk__in=session.remembered_reservation_ids(request)).values_list(
            "patron_id", flat=True
        )
    )
    return list(Patron.objects.filter(pk__in=ids))


def _pending_checkin(request: HttpRequest, establishment: Establishment) -> Reservation | None:
    moment = now()
    found = [
        r
        for patron in _known_patrons(request)
        if (r := presence.reservation_for_checkin(establishment, patron, moment)) is not None
    ]
    found.sort(
        key=lambda r: (
            r.state != ReservationState.ON_BREAK,
            not (r.checkin_opens_at <= moment < r.checkin_closes_at),
            r.start,
        )
    )
    return found[0] if found else None


def _too_many(request: HttpRequest, context: dict[str, Any], wait: int) -> HttpResponse:
    minutes = max(1, -(-wait // 60))  # rounded up: "in 1 minute" while any second is left
    context["error"] = ngettext(
        "Too many attempts. Try again in %(minutes)s minute, or ask the front desk.",
        "Too many attempts. Try again in %(minutes)s minutes, or ask the front desk.",
        minutes,
    ) % {"minutes": minutes}
    response = render(request, "public/validate.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def validate(request: HttpRequest) -> HttpResponse:
    source = request.POST if request.method == "POST" else request.GET
    form = CheckinForm(source or None, initial={"code": request.GET.get("code", "")})
    scanned = source.get("via") == "qr"
    establishment = establishment_for_code(source.get("code", ""))
    reservation = _pending_checkin(request, establishment) if establishment else None
    context: dict[str, Any] = {
        "form": form,
        "establishment": establishment,
        "reservation": reservation,
        "scanned": scanned,
        "code": source.get("code", ""),
        "now": now(),
    }
    if request.method != "POST":
        if source.get("code") and establishment is None:
            context["error"] = _(
                "This code is not valid. Check it on the poster at the "
                "entrance, or ask the front desk."
            )
        return render(request, "public/validate.html", context)

    # Only failures count: a library's Wi-Fi may put hundreds of honest check-ins behind one
    # address. A client past the limit is refused everything until the window resets.
    client = client_address(request)
    wait = throttle.blocked("checkin-wrong", client, limit=WRONG_CODES_PER_CLIENT, window=WINDOW)
    if wait:
        return _too_many(request, context, wait)
    if establishment is None:
        throttle.hit("checkin-wrong", client, limit=WRONG_CODES_PER_CLIENT, window=WINDOW)
        context["error"] = _(
            "This code is not valid. Check it on the poster at the entrance, or ask the front desk."
        )
        return render(request, "public/validate.html", context, status=400)
    if not form.is_valid():
        return render(request, "public/validate.html", context, status=400)
    email = form.cleaned_data.get("email") or ""
    patron = reservation.patron if (reservation and not email) else None
    if patron is None and not email:
        form.add_error("email", _("Give the e-mail address you booked with."))
        return render(request, "public/validate.html", context, status=400)
    try:
        checked = presence.check_in_with_code(
            establishment=establishment,
            code=form.cleaned_data["code"],
            email=email,
            patron=patron,
            scanned=scanned,
        )
    except DomainError as error:
        if error.code in {"no_reservation_now", "invalid_code"}:
            throttle.hit("checkin-wrong", client, limit=WRONG_CODES_PER_CLIENT, window=WINDOW)
            wait = throttle.hit(
                "checkin-establishment",
                str(establishment.pk),
                limit=WRONG_CODES_PER_ESTABLISHMENT,
                window=WINDOW,
            )
            if wait:
                return _too_many(request, context, wait)
        context["error"] = error.message
        context["error_code"] = error.code
        return render(request, "public/validate.html", context, status=error.status)
    session.remember_reservation(request, checked)
    return render(request, "public/validated.html", {"reservation": checked})


@require_POST
def leave_early(request: HttpRequest, reference: str) -> HttpResponse:
    reservation = _owned(request, reference)
    try:
        presence.reservation_leave_early(reservation=reservation)
        messages.success(request, _("Thank you: your place is free for others now."))
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("public:my_reservations")


@require_POST
def take_break(request: HttpRequest, reference: str) -> HttpResponse:
    """ "Faire une pause": the place is kept until the break ends; validating presence again
    (the same QR code, code or desk) before then is coming back."""
    reservation = _owned(request, reference)
    try:
        paused = presence.reservation_start_break(
            reservation=reservation, actor=reservation.patron.email
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        assert paused.break_ends_at is not None
        messages.success(
            request,
            _(
                "Your place is kept until %(time)s. When you are back, validate your presence "
                "again (QR code, establishment code or front desk), or the place will go to "
                "someone else."
            )
            % {"time": f"{paused.break_ends_at.astimezone(paused.establishment.tz):%H:%M}"},
        )
    return redirect("public:my_reservations")


def checkin_url(establishment: Establishment, code: str | None = None) -> str:
    """What the entrance QR code encodes: the check-in page with the code filled in."""
    from urllib.parse import urlencode

    from django.urls import reverse

    query = urlencode({"code": code or establishment.checkin_code, "via": "qr"})
    return f"{settings.BASE_URL}{reverse('public:validate')}?{query}"
