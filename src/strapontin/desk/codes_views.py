"""The establishment's check-in codes seen from the back-office: the printable poster (any
staff role), and for managers the kiosk link, a new printed code and which codes count."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from strapontin.core.errors import DomainError
from strapontin.desk import services
from strapontin.desk.models import Role
from strapontin.desk.qr import qr_svg
from strapontin.desk.views import desk_url, establishment_for, staff_user
from strapontin.public.checkin_views import checkin_url
from strapontin.venues.models import CheckinMode, Establishment
from strapontin.venues.policy import effective_policy

#: The poster's headline, also the probe for a language's translation of the poster.
POSTER_HEADLINE = "Validate your presence"


def poster_languages(establishment: Establishment) -> list[str]:
    """The establishment's languages the site speaks, in its order (French first by default).

    A language whose translation of the poster is missing would print English labelled as
    that language: it is left out until its translation arrives."""
    known = {code for code, _name in settings.LANGUAGES}
    chosen = []
    for code in dict.fromkeys(c.strip() for c in establishment.languages.split(",")):
        if code not in known:
            continue
        with translation.override(code):
            translated = _(POSTER_HEADLINE)
        if translated == POSTER_HEADLINE and not code.startswith("en"):
            continue
        chosen.append(code)
    return chosen or ["en"]


def typed_address() -> SafeString:
    """The check-in page as people type it: no scheme; lines may break after each slash."""
    parts = urlsplit(settings.BASE_URL + reverse("public:validate"))
    escaped = [escape(part) for part in f"{parts.netloc}{parts.path}".split("/")]
    return mark_safe("/<wbr>".join(escaped))  # noqa: S308 - each part is escaped


@require_safe
@never_cache
@login_required
def poster(request: HttpRequest, slug: str) -> HttpResponse:
    establishment = establishment_for(request, slug)
    url = checkin_url(establishment)
    policy = effective_policy(establishment)
    context = {
        "establishment": establishment,
        "url": url,
        "qr": qr_svg(url, title=_("QR code: validate your presence")),
        "languages": poster_languages(establishment),
        "typed_address": typed_address(),
        "opens_before": policy.checkin_opens_before_minutes,
        "closes_after": policy.checkin_closes_after_minutes,
        "static_code_refused": establishment.checkin_mode == CheckinMode.ROTATING,
    }
    return render(request, "desk/poster.html", context)


@require_POST
@never_cache
@login_required
def kiosk_link_issue(request: HttpRequest, slug: str) -> HttpResponse:
    """The link is shown once, in the answer to the POST: only its hash is stored."""
    establishment = establishment_for(request, slug, Role.MANAGER)
    key = services.kiosk_link_issue(establishment=establishment, user=staff_user(request))
    link = settings.BASE_URL + reverse("kiosk:screen", args=[establishment.slug, key])
    return render(
        request,
        "desk/kiosk_issued.html",
        {
            "establishment": establishment,
            "link": link,
            "link_qr": qr_svg(link, title=_("Entrance screen link")),
            "rotating_refused": establishment.checkin_mode == CheckinMode.STATIC,
        },
    )


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def static_code_regenerate(request: HttpRequest, slug: str) -> HttpResponse:
    """GET asks for confirmation (printed posters stop working); POST does it."""
    establishment = establishment_for(request, slug, Role.MANAGER)
    if request.method != "POST":
        return render(request, "desk/code_regenerate.html", {"establishment": establishment})
    code = services.static_code_regenerate(establishment=establishment, user=staff_user(request))
    messages.success(
        request,
        _("The new establishment code is %(code)s. Print the new poster now.") % {"code": code},
    )
    return HttpResponseRedirect(reverse("desk:poster", args=[establishment.slug]))


@require_POST
@login_required
def checkin_mode_set(request: HttpRequest, slug: str) -> HttpResponse:
    establishment = establishment_for(request, slug, Role.MANAGER)
    try:
        services.checkin_mode_set(
            establishment=establishment,
            mode=request.POST.get("checkin_mode", ""),
            user=staff_user(request),
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Check-in settings saved."))
    return HttpResponseRedirect(desk_url(establishment) + "#codes")
