"""Point 7: web hardening. ``check --deploy`` is clean with production settings; every form of
every page carries a CSRF token and a POST without it is refused; pages carry Django's CSP and
no inline script, style or handler; cookies are Secure under HTTPS. (The same pages are opened
in Chromium, listening for CSP violations, in tests/e2e/test_security_in_browser.py.)"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from tests.security.crawl import Page, build_site, every_page, kind_of

pytestmark = pytest.mark.usefixtures("clock")

PRODUCTION = {
    "SECRET_KEY": "x" * 20 + "-production-secret-key-for-the-test-0123456789",
    "BASE_URL": "https://bu.example.org",
    "BEHIND_TLS_PROXY": "1",
    "ALLOWED_HOSTS": "bu.example.org",
    "DEBUG": "",
}


def run_with(env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """The ``strapontin`` command in a fresh process, as production would start it."""
    environment = {**os.environ, **env, "STRAPONTIN_VAR_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "strapontin.config.cli", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    done = run_with(PRODUCTION, tmp_path, "check", "--deploy", "--fail-level", "DEBUG")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_check_deploy_does_complain_without_them(tmp_path):
    """The check above can fail: the demo's settings are not production's."""
    done = run_with({"BASE_URL": "http://127.0.0.1:8000"}, tmp_path, "check", "--deploy")
    assert "security.W004" in done.stdout + done.stderr  # no HSTS over plain HTTP


def test_under_https_cookies_are_secure_and_browsers_are_told_to_stay_on_https(tmp_path):
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps({k: getattr(settings, k) for k in ("
        "'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', "
        "'CSRF_COOKIE_HTTPONLY', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', "
        "'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_PROXY_SSL_HEADER', 'X_FRAME_OPTIONS')}))"
    )
    environment = {
        **os.environ,
        **PRODUCTION,
        "STRAPONTIN_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "strapontin.config.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True
    )
    values = json.loads(done.stdout)
    assert values == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "CSRF_COOKIE_HTTPONLY": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 365 * 24 * 3600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "X_FRAME_OPTIONS": "DENY",
    }


def test_secure_settings_make_the_cookies_secure(settings, place):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    browser = Client()
    page = browser.get(f"/{place.establishment.slug}/reservation/reserver/")
    assert page.cookies["csrftoken"]["secure"]
    answer = browser.post("/mes-reservations/oublier/")
    assert answer.status_code in (302, 403)


@pytest.fixture
def pages(db) -> dict[str, tuple[Client, Page]]:
    return every_page(build_site())


def test_every_post_form_of_every_page_carries_a_csrf_token_and_needs_it(pages):
    checked = 0
    tried: set[str] = set()
    for path, (client, page) in pages.items():
        for form in page.forms:
            if form.method != "post":
                continue
            assert form.fields.get("csrfmiddlewaretoken"), (path, form.action)
            if kind_of(form.action) in tried:
                continue  # one place's toggle stands for the 100 others
            tried.add(kind_of(form.action))
            # The same browser (session and CSRF cookies), the same form, without the token.
            strict = Client(enforce_csrf_checks=True)
            strict.cookies = client.cookies
            data = {k: v for k, v in form.fields.items() if k != "csrfmiddlewaretoken"}
            refused = strict.post(form.action, data)
            assert refused.status_code == 403, (path, form.action, refused.status_code)
            checked += 1
    assert checked > 25


def test_our_pages_carry_the_csp_and_no_inline_script_style_or_handler(pages):
    # The crawl reaches the pages of patrons, desk and admin.
    paths = set(pages)
    assert {"/", "/mes-reservations/", "/reservation/validate", "/desk/"} <= paths
    assert any(p.startswith("/r/annuler/") for p in paths)
    assert any(p.startswith("/desk/demo-bu/gestion/") for p in paths)
    assert any(p.startswith("/desk/demo-bu/statistiques/") for p in paths)
    assert any(p.startswith("/admin/reservations/") for p in paths)
    assert any(p.startswith("/admin/venues/") for p in paths)
    assert all(page.status < 500 for _client, page in pages.values())
    for path, (_client, page) in pages.items():
        if page.status >= 300 or "text/html" not in page.headers.get("Content-Type", ""):
            continue
        policy = page.headers.get("Content-Security-Policy", "")
        assert "script-src 'self'" in policy, path
        assert "unsafe-inline" not in policy, path
        assert "frame-ancestors 'none'" in policy, path
        if path.startswith("/admin/"):
            continue  # Django's own templates: opened in Chromium, which reports violations
        assert page.inline_scripts == 0, path
        assert page.inline_styles == 0, path
        assert page.style_attributes == [], (path, page.style_attributes)
        assert page.handler_attributes == [], (path, page.handler_attributes)
        assert page.javascript_urls == [], path
