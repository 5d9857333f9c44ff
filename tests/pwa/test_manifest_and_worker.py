"""The installable app, seen by Django's test client: the manifest, its icons, the service
worker's headers and scope, and the pages that link them."""

import json
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from PIL import Image

pytestmark = pytest.mark.django_db

STATIC_URL = "/static/"


def manifest(client: Client) -> dict:
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    return json.loads(response.content)


def static_file(url: str) -> Path:
    assert url.startswith(STATIC_URL)
    found = finders.find(url.removeprefix(STATIC_URL))
    assert isinstance(found, str), f"{url} is not a static file"
    return Path(found)


def test_the_manifest_opens_the_installed_app_on_my_reservations(client: Client) -> None:
    data = manifest(client)

    assert data["name"] == "Strapontin"
    assert data["short_name"]
    assert data["lang"] == "fr"
    assert data["start_url"] == "/mes-reservations/?source=pwa"
    assert data["scope"] == "/"
    assert data["display"] == "standalone"


def test_the_manifest_colours_are_the_site_colours(client: Client) -> None:
    data = manifest(client)
    css = static_file("/static/strapontin/site.css").read_text()

    assert f"--brand-dark: {data['theme_color']}" in css  # the header
    assert f"--bg: {data['background_color']}" in css


def test_every_declared_icon_exists_with_its_declared_size(client: Client) -> None:
    icons = manifest(client)["icons"]

    for icon in icons:
        width, height = (int(side) for side in icon["sizes"].split("x"))
        with Image.open(static_file(icon["src"])) as image:
            assert (image.format, image.size) == ("PNG", (width, height)), icon["src"]
        assert icon["type"] == "image/png"
    any_sizes = {icon["sizes"] for icon in icons if icon["purpose"] == "any"}
    assert {"192x192", "512x512"} <= any_sizes
    assert any(icon["purpose"] == "maskable" for icon in icons)


def test_icons_are_served(client: Client) -> None:
    for icon in manifest(client)["icons"]:
        response = client.get(icon["src"])
        assert response.status_code == 200, icon["src"]
        assert response["Content-Type"] == "image/png"


def test_the_service_worker_is_served_from_the_root_for_the_whole_site(client: Client) -> None:
    response = client.get("/sw.js")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response["Cache-Control"]
    body = response.content.decode()
    assert 'self.addEventListener("fetch"' in body
    assert "__STRAPONTIN_" not in body  # the version and the precache list are filled in


def test_the_service_worker_precaches_files_that_exist(client: Client) -> None:
    body = client.get("/sw.js").content.decode()
    line = next(line for line in body.splitlines() if line.startswith("const PRECACHE_URLS"))
    urls = json.loads(line.split("=", 1)[1].strip().rstrip(";"))

    assert "/hors-ligne/" in urls
    assert "/static/strapontin/site.css" in urls
    assert "/static/strapontin/site.js" in urls
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_the_service_worker_never_touches_token_staff_admin_or_api_pages(client: Client) -> None:
    body = client.get("/sw.js").content.decode()

    assert 'request.method !== "GET"' in body
    for prefix in ["/r/", "/desk/", "/admin/", "/api/"]:
        assert f'"{prefix}"' in body


def test_pages_link_the_manifest_the_theme_colour_and_the_touch_icon(client: Client) -> None:
    theme = manifest(client)["theme_color"]
    for url in ["/", "/mes-reservations/", "/reservation/validate", "/hors-ligne/"]:
        html = client.get(url).content.decode()
        assert '<link rel="manifest" href="/manifest.webmanifest">' in html, url
        assert f'<meta name="theme-color" content="{theme}">' in html, url
        assert 'rel="apple-touch-icon" href="/static/strapontin/icons/' in html, url


def test_my_reservations_carries_the_offline_banner_hidden(client: Client) -> None:
    html = client.get("/mes-reservations/").content.decode()

    assert 'data-served-from="network"' in html
    assert html.count('data-served-from="network"') == 1  # the worker marks the first one
    assert 'class="notice offline-banner" role="status" hidden' in html


def test_the_check_in_page_keeps_the_form_and_hides_the_scanner_until_supported(
    client: Client,
) -> None:
    html = client.get("/reservation/validate").content.decode()

    assert 'class="scanner" hidden' in html
    assert 'src="/static/strapontin/scan.js"' in html
    assert 'name="code"' in html


def test_the_offline_page_leaves_the_flash_messages_to_the_next_page(client: Client) -> None:
    client.post("/mes-reservations/", {"email": "alice@example.org"})  # leaves a message

    assert 'class="messages"' not in client.get("/hors-ligne/").content.decode()
    assert 'class="messages"' in client.get("/mes-reservations/").content.decode()
