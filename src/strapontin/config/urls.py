from django.contrib import admin
from django.db import connection
from django.http import HttpRequest, HttpResponsePermanentRedirect, JsonResponse
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from strapontin.api import v1 as api_v1


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Up and able to reach its database."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


@require_safe
def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """Browsers ask for /favicon.ico on pages that do not name an icon (the admin's). Its
    hashed name is looked up per request: at import, collectstatic may not have run yet."""
    return HttpResponsePermanentRedirect(static("strapontin/icons/favicon-32.png"))


# A lost database answers 503 with Retry-After, not 500 (see config/unavailable.py).
handler500 = "strapontin.config.unavailable.server_error"

admin.site.site_header = "Strapontin"
admin.site.site_title = "Strapontin"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("desk/", include("strapontin.desk.urls")),
    path("kiosk/", include("strapontin.desk.kiosk_urls")),
    path("api/v1/", api_v1.api.urls),
    re_path(r"^api/", api_v1.not_found),
    path("", include("strapontin.public.urls")),
]
