"""Every page a patron, a desk manager and an administrator can reach by following links,
with the forms, scripts and styles each one carries — for the CSRF and CSP tests."""

import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from django.contrib.auth.models import User
from django.test import Client, TestCase

from strapontin.config.demo_data import seed_demo
from strapontin.core.clock import now
from strapontin.desk.models import Role, StaffRole
from strapontin.venues.models import Establishment
from tests.factories import UserFactory
from tests.security.helpers import TUESDAY_10, book, link_of

#: Addresses never followed: files, the token addresses (redirects), and leaving the session.
SKIPPED = re.compile(
    r"^/(static/|r/[A-Za-z0-9_-]{16,}/|admin/logout/|i18n/)|\.(csv|json|ics|png|svg)$"
)


@dataclass
class Form:
    method: str
    action: str
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class Page:
    path: str
    status: int
    headers: dict[str, str]
    links: list[str] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    inline_scripts: int = 0
    inline_styles: int = 0
    style_attributes: list[str] = field(default_factory=list)
    handler_attributes: list[str] = field(default_factory=list)
    javascript_urls: list[str] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self, page: Page) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.form: Form | None = None
        self.in_script = False
        self.script_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        for name, value in values.items():
            if name.startswith("on"):
                self.page.handler_attributes.append(f"<{tag} {name}>")
            if name == "style":
                self.page.style_attributes.append(f"<{tag} style={value!r}>")
            if name in ("href", "src", "action") and value.strip().lower().startswith(
                "javascript:"
            ):
                self.page.javascript_urls.append(value)
        if tag == "a" and values.get("href"):
            self.page.links.append(values["href"])
        elif tag == "form":
            self.form = Form(
                method=values.get("method", "get").lower(),
                action=urljoin(self.page.path, values.get("action") or self.page.path),
            )
            self.page.forms.append(self.form)
        elif tag in ("input", "button", "select", "textarea") and self.form and values.get("name"):
            self.form.fields.setdefault(values["name"], values.get("value", ""))
        elif tag == "script":
            # A JSON data block is not run; anything else without src would be inline code.
            if not values.get("src") and values.get("type", "") not in (
                "application/json",
                "application/ld+json",
            ):
                self.page.inline_scripts += 1
        elif tag == "style":
            self.page.inline_styles += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.form = None


def read(path: str, response) -> Page:
    page = Page(path=path, status=response.status_code, headers=dict(response.headers.items()))
    if "text/html" in response.get("Content-Type", ""):
        _Reader(page).feed(response.content.decode())
    return page


def kind_of(path: str) -> str:
    """Pages of one kind (one change form per model, one grid per establishment and day)."""
    return re.sub(r"\d+", "N", urlsplit(path).path)


def crawl(
    client: Client,
    starts: list[str],
    *,
    within: tuple[str, ...],
    per_kind: int = 2,
    limit: int = 250,
) -> dict[str, Page]:
    """Breadth-first over same-origin links under ``within``; each kind of page a few times."""
    seen: dict[str, Page] = {}
    kinds: dict[str, int] = {}
    queue = deque(starts)
    while queue and len(seen) < limit:
        path = queue.popleft()
        if path in seen:
            continue
        kind = kind_of(path)
        if kinds.get(kind, 0) >= per_kind and path not in starts:
            continue
        kinds[kind] = kinds.get(kind, 0) + 1
        page = read(path, client.get(path))
        seen[path] = page
        for href in page.links:
            target = urljoin(path, href.split("#")[0])
            parts = urlsplit(target)
            if parts.netloc and parts.netloc != "testserver":
                continue
            local = parts.path + (f"?{parts.query}" if parts.query else "")
            if local and local.startswith(within) and not SKIPPED.search(parts.path):
                queue.append(local)
    return seen


@dataclass
class Site:
    patron: Client
    manager: Client
    admin: Client
    manager_user: User
    establishment: Establishment


def build_site(start: datetime = TUESDAY_10) -> Site:
    """The demo's libraries, a patron with reservations in every state the browser shows, a
    manager of Démo BU and a superuser. ``start``: a bookable hour (10:00 of a coming day)."""
    establishments = seed_demo()
    bu = next(e for e in establishments if e.slug == "demo-bu")
    # The demo has weeks of past presence (the forecast): a place with nothing to come.
    place = next(
        r for r in bu.resources.order_by("pk") if not r.reservations.filter(end__gt=now()).exists()
    )
    patron = Client()
    assert book(patron, place, "alice@example.org", start=start).status_code == 302
    with TestCase.captureOnCommitCallbacks(execute=True):
        patron.post(patron.get(link_of("confirmer"))["Location"])
    # Another browser books in her name: pending, with a confirmation link.
    later = start.replace(hour=14)
    assert book(Client(), place, "alice@example.org", start=later).status_code == 302
    manager_user = UserFactory(username="manager")
    StaffRole.objects.create(user=manager_user, establishment=bu, role=Role.MANAGER)
    manager = Client()
    manager.force_login(manager_user)
    admin = Client()
    admin.force_login(UserFactory(username="root", is_superuser=True))
    return Site(patron, manager, admin, manager_user, bu)


def every_page(site: Site) -> dict[str, tuple[Client, Page]]:
    """Each page with the browser that reached it."""
    pages: dict[str, tuple[Client, Page]] = {}
    slug = site.establishment.slug
    public = [
        "/",
        f"/{slug}/",
        f"/{slug}/reservation/",
        "/mes-reservations/",
        "/reservation/validate",
        f"/reservation/validate?code={site.establishment.checkin_code}&via=qr",
        "/mes-reservations/supprimer-mon-compte/",
        "/confidentialite/",
        "/hors-ligne/",
    ]
    for path, page in crawl(site.patron, public, within=("/",), limit=120).items():
        if not path.startswith(("/desk/", "/admin/", "/api/")):
            pages[path] = (site.patron, page)
    # The pages of the e-mails' links, and the booking form.
    with TestCase.captureOnCommitCallbacks(execute=True):
        site.patron.post("/mes-reservations/", {"email": "alice@example.org"})
    for action in ("confirmer", "annuler", "connexion"):
        landing = site.patron.get(link_of(action))["Location"]
        pages[landing] = (site.patron, read(landing, site.patron.get(landing)))
    grid = pages[f"/{slug}/reservation/"][1]
    slot = (
        next(f.fields["slot"] for f in grid.forms if "slot" in f.fields)
        if any("slot" in f.fields for f in grid.forms)
        else None
    )
    if slot:
        path = f"/{slug}/reservation/reserver/?slot={slot}"
        pages[path] = (site.patron, read(path, site.patron.get(path)))
    for path, page in crawl(site.manager, ["/desk/"], within=("/desk/",)).items():
        pages[path] = (site.manager, page)
    issued = site.manager.post(f"/desk/{slug}/kiosque/").content.decode()
    kiosk = re.search(r"https?://[^/\s\"]+(/kiosk/[^\s\"<]+)", issued)
    assert kiosk, "no kiosk link issued"
    pages[kiosk.group(1)] = (site.manager, read(kiosk.group(1), site.manager.get(kiosk.group(1))))
    for path, page in crawl(site.admin, ["/admin/"], within=("/admin/",), per_kind=1).items():
        pages[path] = (site.admin, page)
    return pages
