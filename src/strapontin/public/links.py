"""Links from e-mails ("Confirmer ma réservation", "Annuler…", sign-in), in two steps so that
the token never sits in the address of a page that makes requests.

1. ``GET /r/<token>/<action>/`` — what the e-mail links to, and what mail scanners open — looks
   the token up, changes nothing in the database, notes the token's id in a signed cookie
   scoped to ``/r/`` and redirects to the token-free page of the action. This answer is the only
   one whose address holds the token: it sends ``Referrer-Policy: no-referrer`` and
   ``Cache-Control: no-store``, and has no body that could load anything.
2. ``GET /r/<action>/<reference>/`` shows the page; its form POSTs to the same address. The
   page is ordinary and same-origin, so the browser sends a real ``Origin`` with the POST and
   Django's CSRF check keeps working (under ``no-referrer`` Chromium sends ``Origin: null``,
   which that check refuses). The token is not in its address, in the ``Referer`` of anything
   it loads, in the language switch's ``next``, nor in a cache.

This is Django's ``PasswordResetConfirmView`` pattern, with a signed cookie instead of the
session so that a scanner's GET does not even write a session row. The cookie proves that this
browser opened the link: only this server can sign it, and it signs it only for the token.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.public import session
from strapontin.reservations import selectors, services, waitlist
from strapontin.reservations.models import AccessToken, ReservationState, TokenPurpose
from strapontin.reservations.tokens import find_token, is_usable

COOKIE = "strapontin_links"
COOKIE_SALT = "strapontin.public.links"
#: How long after opening the link its page still works in this browser.
COOKIE_AGE = 24 * 3600
#: Links remembered at once (several tabs, several reservations).
REMEMBERED = 10
#: The token-free page of each purpose.
PAGE_OF = {
    TokenPurpose.CONFIRM: "public:link_confirm",
    TokenPurpose.CANCEL: "public:link_cancel",
    TokenPurpose.SIGN_IN: "public:link_sign_in",
    TokenPurpose.OFFER: "public:link_offer",
    TokenPurpose.WAITLIST: "public:link_waitlist",
}


def _opened_ids(request: HttpRequest) -> list[int]:
    value = request.get_signed_cookie(COOKIE, default="", salt=COOKIE_SALT, max_age=COOKIE_AGE)
    return [int(part) for part in (value or "").split(".") if part.isdigit()][-REMEMBERED:]


def _without_referrer(response: HttpResponseBase) -> HttpResponseBase:
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response


def _not_opened() -> DomainError:
    return DomainError(
        "token_invalid",
        _(
            "Open the link from the e-mail again, in this browser (it must accept cookies). "
            "The link may also have expired."
        ),
    )


def _opened(request: HttpRequest, purpose: TokenPurpose, reference: str = "") -> AccessToken:
    """The token of ``purpose`` this browser opened last (for ``reference``, if given)."""
    found = AccessToken.objects.select_related(
        "patron",
        "reservation__resource__area",
        "reservation__establishment",
        "waitlist_request__establishment",
    ).filter(pk__in=_opened_ids(request), purpose=purpose)
    if reference and purpose == TokenPurpose.WAITLIST:
        found = found.filter(waitlist_request__reference=reference)
    elif reference:
        found = found.filter(reservation__reference=reference)
    token = found.order_by("-pk").first()
    if token is None:
        raise _not_opened()
    return token


def _error(request: HttpRequest, error: DomainError) -> HttpResponse:
    return render(request, "public/token_error.html", {"error": error}, status=error.status)


# --- Step 1: the address in the e-mail --------------------------------------------------------


@require_safe
def open_link(request: HttpRequest, token: str, purpose: TokenPurpose) -> HttpResponseBase:
    """Note the token in this browser and go to the token-free page. Never a change."""
    try:
        access = find_token(token, purpose)
    except DomainError:
        return _without_referrer(redirect("public:link_invalid"))
    if access.waitlist_request_id is not None:
        assert access.waitlist_request is not None
        target = reverse(PAGE_OF[purpose], kwargs={"reference": access.waitlist_request.reference})
    elif access.reservation_id is None:
        target = reverse(PAGE_OF[purpose])
    else:
        assert access.reservation is not None
        target = reverse(PAGE_OF[purpose], kwargs={"reference": access.reservation.reference})
    response = HttpResponseRedirect(target)
    ids = [i for i in _opened_ids(request) if i != access.pk] + [access.pk]
    response.set_signed_cookie(
        COOKIE,
        ".".join(str(i) for i in ids[-REMEMBERED:]),
        salt=COOKIE_SALT,
        max_age=COOKIE_AGE,
        path="/r/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return _without_referrer(response)


def token_confirm(request: HttpRequest, token: str) -> HttpResponseBase:
    return open_link(request, token, TokenPurpose.CONFIRM)


def token_cancel(request: HttpRequest, token: str) -> HttpResponseBase:
    return open_link(request, token, TokenPurpose.CANCEL)


def token_sign_in(request: HttpRequest, token: str) -> HttpResponseBase:
    return open_link(request, token, TokenPurpose.SIGN_IN)


def token_offer(request: HttpRequest, token: str) -> HttpResponseBase:
    return open_link(request, token, TokenPurpose.OFFER)


def token_waitlist(request: HttpRequest, token: str) -> HttpResponseBase:
    return open_link(request, token, TokenPurpose.WAITLIST)


# --- Step 2: the pages, without the token -----------------------------------------------------


@never_cache
@require_safe
def link_invalid(request: HttpRequest) -> HttpResponse:
    return _error(request, DomainError("token_invalid", _("This link is not valid.")))


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        access = _opened(request, TokenPurpose.CONFIRM, reference)
        reservation = access.reservation
        assert reservation is not None
        done = False
        if request.method == "POST":
            reservation = services.reservation_confirm(reservation=reservation)
            session.remember_patron(request, reservation.patron)
            session.remember_reservation(request, reservation)
            done = True
        elif not is_usable(access) and reservation.state == ReservationState.PENDING:
            raise DomainError(
                "confirmation_expired", _("The time to confirm this reservation has passed.")
            )
    except DomainError as error:
        return _error(request, error)
    return render(
        request,
        "public/token_confirm.html",
        {
            "reservation": reservation,
            "establishment": reservation.establishment,
            "done": done or reservation.state != ReservationState.PENDING,
            "state": selectors.effective_state(reservation),
        },
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def cancel(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        access = _opened(request, TokenPurpose.CANCEL, reference)
        reservation = access.reservation
        assert reservation is not None
        if request.method == "POST":
            if not is_usable(access):
                raise DomainError("token_invalid", _("This link has expired."))
            reservation = services.reservation_cancel_by_patron(reservation=reservation)
    except DomainError as error:
        return _error(request, error)
    state = selectors.effective_state(reservation)
    return render(
        request,
        "public/token_cancel.html",
        {
            "reservation": reservation,
            "establishment": reservation.establishment,
            "state": state,
            "cancellable": state in (ReservationState.PENDING, ReservationState.CONFIRMED)
            and reservation.end > now(),
        },
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    try:
        access = _opened(request, TokenPurpose.SIGN_IN)
        if request.method == "POST":
            patron = services.patron_sign_in(token=access)
            session.remember_patron(request, patron)
            return redirect("public:my_reservations")
        if not is_usable(access):
            raise DomainError("token_invalid", _("This link has expired or was already used."))
    except DomainError as error:
        return _error(request, error)
    return render(request, "public/token_sign_in.html", {"email": access.patron.email})


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def offer(request: HttpRequest, reference: str) -> HttpResponse:
    """ "Prendre cette place" (or "Non merci") for a place held for this patron."""
    try:
        access = _opened(request, TokenPurpose.OFFER, reference)
        reservation = access.reservation
        assert reservation is not None
        if request.method == "POST":
            if request.POST.get("action") == "decline":
                reservation = waitlist.offer_decline(reservation=reservation)
            else:
                reservation = waitlist.offer_take(reservation=reservation)
                session.remember_patron(request, reservation.patron)
            session.remember_reservation(request, reservation)
    except DomainError as error:
        return _error(request, error)
    return render(
        request,
        "public/token_offer.html",
        {
            "reservation": reservation,
            "establishment": reservation.establishment,
            "state": selectors.effective_state(reservation),
        },
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def leave_waitlist(request: HttpRequest, reference: str) -> HttpResponse:
    """ "Quitter la liste d'attente" from the e-mail."""
    try:
        access = _opened(request, TokenPurpose.WAITLIST, reference)
        wish = access.waitlist_request
        assert wish is not None
        if request.method == "POST":
            if not is_usable(access):
                raise DomainError("token_invalid", _("This link has expired."))
            wish = waitlist.waitlist_request_cancel(request=wish)
    except DomainError as error:
        return _error(request, error)
    return render(
        request,
        "public/token_waitlist.html",
        {
            "wish": wish,
            "establishment": wish.establishment,
            "live": waitlist.is_live(wish),
        },
    )
