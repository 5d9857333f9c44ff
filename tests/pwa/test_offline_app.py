"""The installable app in a real Chromium on the live server: the service worker takes
control, "Mes réservations" still shows the last known reservations without network (with
the offline banner), and the check-in page scans the entrance QR code where the browser can.
Installing is in test_install.py."""

import re

import pytest
from playwright.sync_api import Page, expect
from pytest_django.live_server_helper import LiveServer

from strapontin.public.checkin_views import checkin_url
from strapontin.reservations.models import TokenPurpose
from strapontin.reservations.tokens import issue_token
from tests.e2e.test_checkin_journey import (
    as_the_browser_that_booked,
    confirmed_reservation_in_its_window,
    on_live_server,
)

pytestmark = pytest.mark.e2e


def wait_for_the_service_worker(page: Page) -> None:
    """Active and controlling this page (it claims its clients on activation)."""
    scope = page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
    assert scope.endswith("/")
    page.wait_for_function("navigator.serviceWorker.controller !== null")


def test_my_reservations_are_still_shown_offline_with_the_offline_banner(
    page: Page, live_server: LiveServer
) -> None:
    _, reservation = confirmed_reservation_in_its_window()
    as_the_browser_that_booked(page, live_server, reservation)
    page.goto("/")
    wait_for_the_service_worker(page)

    page.goto("/mes-reservations/?source=pwa")  # where the installed app opens
    expect(page.locator("li.reservation", has_text="Étage 1 - Place 2")).to_have_count(1)
    expect(page.locator(".offline-banner")).to_be_hidden()

    page.context.set_offline(True)
    page.reload()

    expect(page.locator("h1")).to_have_text("Mes réservations")
    mine = page.locator("li.reservation", has_text="Étage 1 - Place 2")
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text("Démo BU")
    banner = page.locator('.offline-banner[role="status"]')
    expect(banner).to_be_visible()
    expect(banner.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
    # Cancelling needs the server: the button says so by being disabled.
    expect(mine.locator('button[type="submit"]')).to_be_disabled()

    # Another page without network: the offline page, not the browser's error.
    page.goto("/demo-bu/")
    expect(page.locator("main a[href='/mes-reservations/']")).to_be_visible()

    page.context.set_offline(False)
    page.goto("/mes-reservations/")
    expect(page.locator(".offline-banner")).to_be_hidden()
    expect(page.locator("li.reservation", has_text="Étage 1 - Place 2")).to_have_count(1)


def test_the_worker_keeps_no_post_and_no_token_staff_admin_or_api_page(
    page: Page, live_server: LiveServer
) -> None:
    _, reservation = confirmed_reservation_in_its_window()
    token = issue_token(
        purpose=TokenPurpose.CANCEL,
        patron=reservation.patron,
        reservation=reservation,
        expires_at=reservation.end,
    )
    page.goto("/")
    wait_for_the_service_worker(page)
    page.goto("/mes-reservations/")
    for url in [f"/r/{token}/annuler/", "/desk/", "/admin/login/", "/api/v1/openapi.json"]:
        assert page.goto(url).ok, url
    # A POST, answered by a page: still nothing kept.
    page.goto("/reservation/validate")
    page.locator("main form.booking input[name='code']").fill(
        reservation.establishment.checkin_code
    )
    page.locator("main form.booking input[name='email']").fill(reservation.patron.email)
    page.locator("main form.booking button[type='submit']").click()
    expect(page.locator("h1")).to_have_text("Présence validée")

    cached = page.evaluate(
        """async () => {
            const urls = [];
            for (const name of await caches.keys()) {
                const cache = await caches.open(name);
                for (const request of await cache.keys()) urls.push(new URL(request.url).pathname);
            }
            return urls;
        }"""
    )
    assert "/mes-reservations/" in cached
    assert "/static/strapontin/site.css" in cached
    assert not [url for url in cached if re.match(r"^/(r|desk|admin|api|reservation)/", url)]


#: What the browser has on a phone and not in this Chromium: a camera and a QR code reader.
FAKE_CAMERA_AND_READER = """
(() => {
  window.__scanned = %s;
  window.BarcodeDetector = class {
    static async getSupportedFormats() { return ["qr_code", "ean_13"]; }
    async detect() { return window.__scanned.map((rawValue) => ({ rawValue })); }
  };
  navigator.mediaDevices.getUserMedia = async () => {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 64;
    canvas.getContext("2d").fillRect(0, 0, 64, 64);
    return canvas.captureStream(5);
  };
})();
"""


def test_scanning_the_entrance_qr_code_opens_the_check_in_page_with_the_code(
    page: Page, live_server: LiveServer
) -> None:
    library, reservation = confirmed_reservation_in_its_window()
    as_the_browser_that_booked(page, live_server, reservation)
    poster = on_live_server(checkin_url(library), live_server)
    page.add_init_script(FAKE_CAMERA_AND_READER % f'["https://elsewhere.example/x", "{poster}"]')

    page.goto("/reservation/validate")
    page.locator(".scanner .scanner-start").click()

    expect(page).to_have_url(re.compile(rf"/reservation/validate\?code={library.checkin_code}"))
    expect(page.locator("main")).to_contain_text(reservation.reference)
    page.locator('main form[method="post"] button[type="submit"].button-primary').click()
    expect(page.locator("h1")).to_have_text("Présence validée")


def test_a_qr_code_of_another_site_is_refused(page: Page, live_server: LiveServer) -> None:
    page.add_init_script(
        FAKE_CAMERA_AND_READER % '["https://elsewhere.example/reservation/validate?code=X"]'
    )

    page.goto("/reservation/validate")
    page.locator(".scanner .scanner-start").click()

    expect(page.locator(".scanner .scanner-status")).not_to_be_empty()
    expect(page).to_have_url(re.compile(r"/reservation/validate$"))
    page.locator(".scanner .scanner-stop").click()
    expect(page.locator(".scanner .scanner-video")).to_be_hidden()


def test_without_a_qr_code_reader_only_the_form_is_offered(page: Page) -> None:
    # Debian's Chromium on Linux has none today; made sure of, whatever the version.
    page.add_init_script("delete window.BarcodeDetector;")
    page.goto("/reservation/validate")

    expect(page.locator("main form.booking input[name='code']")).to_be_visible()
    expect(page.locator(".scanner")).to_be_hidden()
    expect(page.locator(".scanner .scanner-start")).to_be_hidden()
