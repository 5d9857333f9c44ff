"""The installable app: the web app manifest, the service worker (served from the root so
that its scope is the whole site) and the page it shows when offline and nothing is cached.

The service worker's script lives in the static folder; it is served here because a worker's
scope cannot be wider than its own URL's folder, and the static URL is under /static/."""

import hashlib
import json
from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_safe

#: The site's colours (site.css: --brand-dark for the header, the page's white background).
THEME_COLOR = "#1e3a8a"
BACKGROUND_COLOR = "#fff"

#: The installed app's name and description are in the default language, French.
MANIFEST_LANGUAGE = "fr"

#: Static files the service worker keeps for offline use, with the offline page.
PRECACHED_STATIC = (
    "strapontin/site.css",
    "strapontin/site.js",
    "strapontin/scan.js",
    "strapontin/icons/icon-192.png",
    "strapontin/icons/icon-512.png",
    "strapontin/icons/icon-maskable-512.png",
    "strapontin/icons/apple-touch-icon.png",
    "strapontin/icons/favicon-32.png",
)
SERVICE_WORKER = "strapontin/sw.js"
#: Replaced in sw.js by a digest of the worker and the files it precaches: a change to any of
#: them changes the worker's bytes, which is what makes browsers install the new version.
VERSION_MARK = "__STRAPONTIN_VERSION__"
PRECACHE_MARK = '["__STRAPONTIN_PRECACHE__"]'

ICONS = (
    {"src": "strapontin/icons/icon-192.png", "sizes": "192x192", "purpose": "any"},
    {"src": "strapontin/icons/icon-512.png", "sizes": "512x512", "purpose": "any"},
    {"src": "strapontin/icons/icon-maskable-512.png", "sizes": "512x512", "purpose": "maskable"},
)


def _static_path(name: str) -> Path:
    found = finders.find(name)
    if not found or isinstance(found, list):
        raise FileNotFoundError(name)
    return Path(found)


def _service_worker_source() -> str:
    """Read once per process, since static files only change with a deployment, which
    restarts it; read on every request while developing."""
    return _read_service_worker() if settings.DEBUG else _cached_service_worker()


def _read_service_worker() -> str:
    source = _static_path(SERVICE_WORKER).read_text(encoding="utf-8")
    digest = hashlib.sha256(source.encode())
    for name in PRECACHED_STATIC:
        digest.update(_static_path(name).read_bytes())
    precache = [reverse("public:offline"), *(static(name) for name in PRECACHED_STATIC)]
    return source.replace(VERSION_MARK, digest.hexdigest()[:16]).replace(
        PRECACHE_MARK, json.dumps(precache)
    )


_cached_service_worker = cache(_read_service_worker)


@require_safe
@cache_control(max_age=3600)
def manifest(request: HttpRequest) -> JsonResponse:
    """Once installed, the app opens on "Mes réservations" (?source=pwa tells the visits
    apart in the logs)."""
    with translation.override(MANIFEST_LANGUAGE):
        description = _("Reserve a seat in the library, validate your presence on arrival.")
    data = {
        "id": "/",
        "name": "Strapontin",
        "short_name": "Strapontin",
        "description": description,
        "lang": MANIFEST_LANGUAGE,
        "dir": "ltr",
        "start_url": reverse("public:my_reservations") + "?source=pwa",
        "scope": "/",
        "display": "standalone",
        "orientation": "any",
        "theme_color": THEME_COLOR,
        "background_color": BACKGROUND_COLOR,
        "categories": ["education", "productivity"],
        "icons": [{**icon, "src": static(icon["src"]), "type": "image/png"} for icon in ICONS],
    }
    return JsonResponse(data, content_type="application/manifest+json")


@require_safe
@never_cache
def service_worker(request: HttpRequest) -> HttpResponse:
    """Never cached by HTTP caches, so that browsers see a new version at once."""
    response = HttpResponse(
        _service_worker_source(), content_type="application/javascript; charset=utf-8"
    )
    response["Service-Worker-Allowed"] = "/"
    return response


@require_safe
def offline(request: HttpRequest) -> HttpResponse:
    """Shown by the service worker for a page that needs the network while there is none."""
    # Fetched by the worker in the background: it must not consume the flash messages meant
    # for the page the patron is looking at.
    return render(request, "public/offline.html", {"messages": []})
