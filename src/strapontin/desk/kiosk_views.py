"""The entrance screen: a code and its QR code that change every minute, so that a photo of
the screen does not work from home. No login: the secret link is the credential."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from strapontin.core.clock import now
from strapontin.desk.codes_views import poster_languages, typed_address
from strapontin.desk.qr import qr_svg
from strapontin.public.checkin_views import checkin_url
from strapontin.venues import codes
from strapontin.venues.models import CheckinMode, Establishment


@require_safe
@never_cache
def screen(request: HttpRequest, slug: str, key: str) -> HttpResponse:
    establishment = get_object_or_404(Establishment, slug=slug, is_active=True)
    if not codes.kiosk_key_is_valid(establishment, key):
        raise Http404
    moment = now()
    context = {
        "establishment": establishment,
        "languages": poster_languages(establishment),
        "typed_address": typed_address(),
        "seconds_left": codes.seconds_left(moment),
        "turned_off": establishment.checkin_mode == CheckinMode.STATIC,
    }
    if not context["turned_off"]:
        code = codes.current_rotating_code(establishment, moment)
        context["code"] = code
        context["qr"] = qr_svg(
            checkin_url(establishment, code=code), title=_("QR code: validate your presence")
        )
    response = render(request, "desk/kiosk.html", context)
    # The key is in the address: keep it out of Referer headers and search engines.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response
