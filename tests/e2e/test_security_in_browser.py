"""Security in a real Chromium: e-mail links still confirm, cancel and sign in (their forms
pass Django's CSRF check), their token never leaves in a Referer, and no page of the site —
patron, desk or admin — makes the browser report a Content-Security-Policy violation."""

import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, Request, expect
from pytest_django.live_server_helper import LiveServer

from strapontin.core.clock import now
from strapontin.reservations import services
from strapontin.reservations.models import DemoMail, Patron, Reservation, ReservationState
from tests.conftest import PARIS
from tests.factories import ResourceFactory
from tests.security.crawl import build_site, every_page
from tests.security.helpers import links_in

pytestmark = pytest.mark.e2e

#: Records every CSP violation of every frame, before any script of the page runs.
LISTEN_FOR_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${where}`);
});
"""


def tomorrow_at(hour: int) -> datetime:
    day = now().astimezone(PARIS).date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=PARIS)


class Traffic:
    """Every request the browser sends, with the Referer it sent."""

    def __init__(self, context: BrowserContext) -> None:
        self.sent: list[tuple[str, str]] = []
        context.on("request", self.record)

    def record(self, request: Request) -> None:
        self.sent.append((request.url, request.headers.get("referer", "")))

    def leaks(self, token: str) -> list[tuple[str, str]]:
        """Requests carrying ``token`` other than the link's own address."""
        return [
            (url, referer)
            for url, referer in self.sent
            if token in referer or (token in url and f"/r/{token}/" not in urlsplit(url).path)
        ]


def mail_page_for(live_server: LiveServer, message) -> str:
    """The demo mailbox's page of ``message``, its links pointing at the live server."""
    body = re.sub(r"https?://[^/\s]+/", f"{live_server.url}/", message.body)
    shown = DemoMail.objects.create(to=message.to[0], subject=message.subject, body_text=body)
    return f"/demo/mails/{shown.pk}/"


def test_email_links_confirm_cancel_and_sign_in_and_their_tokens_never_leak(
    page: Page, browser: Browser, live_server: LiveServer
) -> None:
    place = ResourceFactory()
    traffic = Traffic(page.context)
    reservation = services.reservation_create(
        resource=place,
        email="alice@example.org",
        start=tomorrow_at(10),
        end=tomorrow_at(11),
    )
    (request,) = mail.outbox
    tokens = {action: token for _path, token, action in links_in(request.body)}

    # From the inbox (the demo's), as a patron clicks: the page that opens has no token.
    page.goto(mail_page_for(live_server, request))
    page.locator('a[href*="/confirmer/"]').click()
    expect(page).to_have_url(re.compile(rf"/r/confirmer/{reservation.reference}/$"))
    assert page.evaluate("document.referrer") == ""
    page.get_by_role("button", name="Confirmer ma réservation").click()
    expect(page.locator("h1")).to_contain_text("confirmée")
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.CONFIRMED

    confirmed = mail.outbox[-1]
    cancel = {a: t for _p, t, a in links_in(confirmed.body)}["annuler"]
    page.goto(mail_page_for(live_server, confirmed))
    page.locator('a[href*="/annuler/"]').click()
    expect(page).to_have_url(re.compile(rf"/r/annuler/{reservation.reference}/$"))
    page.get_by_role("button", name="Annuler ma réservation").click()
    expect(page.locator("h1")).to_contain_text("annulée")
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.CANCELLED

    # Signing in on another device.
    other = browser.new_context(base_url=live_server.url, locale="fr-FR")
    other_traffic = Traffic(other)
    services.patron_request_sign_in(email="alice@example.org", language="fr")
    signing_in = mail.outbox[-1]
    sign_in = {a: t for _p, t, a in links_in(signing_in.body)}["connexion"]
    device = other.new_page()
    device.goto(mail_page_for(live_server, signing_in))
    device.locator('a[href*="/connexion/"]').click()
    expect(device).to_have_url(re.compile(r"/r/connexion/$"))
    device.get_by_role("button", name="Afficher mes réservations").click()
    expect(device).to_have_url(re.compile(r"/mes-reservations/$"))
    expect(device.locator("main")).to_contain_text("alice@example.org")
    other.close()
    assert Patron.objects.get().is_verified

    everything = traffic.sent + other_traffic.sent
    assert len(everything) > 10
    for token in (*tokens.values(), cancel, sign_in):
        assert traffic.leaks(token) == []
        assert other_traffic.leaks(token) == []
    # The link's own address was asked for, each time from the inbox page, never sent on.
    assert any(f"/r/{tokens['confirmer']}/" in url for url, _ref in everything)


def cookies_of(client: Client, live_server: LiveServer) -> list[dict]:
    host = urlsplit(live_server.url).hostname
    return [
        {"name": name, "value": morsel.value, "domain": host, "path": morsel["path"] or "/"}
        for name, morsel in client.cookies.items()
    ]


def test_no_page_of_the_site_makes_chromium_report_a_csp_violation(
    page: Page, browser: Browser, live_server: LiveServer
) -> None:
    site = build_site(start=tomorrow_at(10))
    pages = every_page(site)
    contexts: dict[int, BrowserContext] = {}
    violations: dict[str, list[str]] = {}
    console: list[str] = []
    try:
        for path, (client, _page) in pages.items():
            context = contexts.get(id(client))
            if context is None:
                context = browser.new_context(base_url=live_server.url, locale="fr-FR")
                context.add_cookies(cookies_of(client, live_server))
                context.add_init_script(LISTEN_FOR_VIOLATIONS)
                contexts[id(client)] = context
                context.on(
                    "console",
                    lambda message: (
                        message.type == "error"
                        and "favicon" not in message.location.get("url", "")
                        and console.append(f"{message.location.get('url')}: {message.text}")
                    ),
                )
            tab = context.new_page()
            if not violations.get("canary"):
                # The listener does hear violations: an inline script under our policy.
                tab.route(
                    "**/canary-with-inline-script",
                    lambda route: route.fulfill(
                        status=200,
                        headers={"Content-Security-Policy": "script-src 'self'"},
                        content_type="text/html",
                        body="<p>canary</p><script>document.title = 'ran'</script>",
                    ),
                )
                tab.goto("/canary-with-inline-script", wait_until="load")
                violations["canary"] = tab.evaluate("window.__violations")
                assert violations["canary"], "the CSP listener heard nothing"
            tab.goto(path, wait_until="load")
            tab.wait_for_timeout(50)
            found = tab.evaluate("window.__violations")
            if found:
                violations[path] = found
            tab.close()
    finally:
        for context in contexts.values():
            context.close()
    assert len(pages) > 40
    assert violations.pop("canary")
    assert violations == {}
    assert [line for line in console if "canary" not in line and "Content Security" in line] == []
    assert Reservation.objects.exists()
