"""The entrance poster and the entrance screen: their QR codes, decoded from the SVG the page
really contains, lead exactly to the check-in page with the right code."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import translation
from django.utils.translation import gettext

from strapontin.core.clock import now
from strapontin.desk import services
from strapontin.public.checkin_views import checkin_url
from strapontin.venues import codes
from strapontin.venues.models import CheckinMode
from tests.desk.conftest import decode_qr_svg, signed_in

pytestmark = pytest.mark.usefixtures("clock")


def test_the_poster_qr_code_decodes_to_exactly_the_checkin_url(a, agent):
    html = signed_in(agent).get("/desk/bib-a/affiche/").content.decode()
    assert decode_qr_svg(html) == [checkin_url(a)]
    assert checkin_url(a) == (
        f"http://127.0.0.1:8000/reservation/validate?code={a.checkin_code}&via=qr"
    )
    assert f'<p class="poster-code">{a.checkin_code}</p>' in html
    assert "127.0.0.1:8000/<wbr>reservation/<wbr>validate" in html


def test_scanning_the_poster_opens_the_checkin_page_with_the_code(a, agent):
    html = signed_in(agent).get("/desk/bib-a/affiche/").content.decode()
    url = urlsplit(decode_qr_svg(html)[0])
    page = Client().get(f"{url.path}?{url.query}")
    assert page.status_code == 200
    assert page.context["establishment"] == a
    assert page.context["scanned"] is True


def test_the_poster_follows_a_new_printed_code(a, manager):
    old = a.checkin_code
    services.static_code_regenerate(establishment=a, user=manager)
    a.refresh_from_db()
    html = signed_in(manager).get("/desk/bib-a/affiche/").content.decode()
    assert decode_qr_svg(html) == [checkin_url(a)]
    assert old not in html


def test_the_poster_speaks_the_establishments_languages(a, agent):
    with translation.override("fr"):
        french_is_translated = gettext("Validate your presence") != "Validate your presence"
    a.languages = "fr,en"
    a.save()
    html = signed_in(agent).get("/desk/bib-a/affiche/").content.decode()
    assert '<section lang="en">' in html
    # Until its translation arrives, French would repeat the English: it waits.
    assert ('<section lang="fr">' in html) == french_is_translated
    a.languages = "en"
    a.save()
    html = signed_in(agent).get("/desk/bib-a/affiche/").content.decode()
    assert '<section lang="fr">' not in html
    assert html.count('<section lang="en">') == 1


def test_the_poster_warns_when_its_code_is_not_accepted(a, agent):
    a.checkin_mode = CheckinMode.ROTATING
    a.save()
    response = signed_in(agent).get("/desk/bib-a/affiche/")
    assert response.context["static_code_refused"] is True


@pytest.fixture
def kiosk(a, manager) -> str:
    """The path of A's entrance screen."""
    return f"/kiosk/bib-a/{services.kiosk_link_issue(establishment=a, user=manager)}/"


def test_the_kiosk_needs_its_secret_link(a, kiosk):
    assert Client().get(kiosk).status_code == 200
    assert Client().get("/kiosk/bib-a/wrong-key/").status_code == 404
    assert Client().get(kiosk.replace("bib-a", "bib-b")).status_code == 404


def test_the_kiosk_is_closed_until_a_link_is_issued(a):
    assert not a.kiosk_key_hash
    assert Client().get("/kiosk/bib-a/anything/").status_code == 404


def test_the_kiosk_of_an_inactive_establishment_is_closed(a, kiosk):
    a.is_active = False
    a.save()
    assert Client().get(kiosk).status_code == 404


def test_the_kiosk_shows_the_rotating_code_and_its_qr_code(a, kiosk):
    response = Client().get(kiosk)
    code = codes.current_rotating_code(a, now())
    assert response.context["code"] == code
    html = response.content.decode()
    assert f'<p class="kiosk-code">{code}</p>' in html
    assert decode_qr_svg(html) == [checkin_url(a, code=code)]
    assert f'data-seconds-left="{codes.seconds_left(now())}"' in html
    assert '<noscript><meta http-equiv="refresh"' in html
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]


def test_the_kiosk_code_changes_every_minute_and_lives_one_minute_more(a, kiosk, clock):
    first = Client().get(kiosk).context["code"]
    assert codes.matches(a, first, now()) == "rotating"
    clock.shift(timedelta(seconds=60))
    second = Client().get(kiosk).context["code"]
    assert second != first
    assert codes.matches(a, second, now()) == "rotating"
    assert codes.matches(a, first, now()) == "rotating"  # the previous step still counts
    clock.shift(timedelta(seconds=60))
    assert codes.matches(a, first, now()) is None
    assert codes.matches(a, second, now()) == "rotating"


def test_a_kiosk_code_validates_presence_through_the_checkin_page(a, kiosk):
    code = Client().get(kiosk).context["code"]
    page = Client().get("/reservation/validate", {"code": code, "via": "qr"})
    assert page.context["establishment"] == a


def test_the_kiosk_says_when_its_codes_are_not_accepted(a, kiosk):
    a.checkin_mode = CheckinMode.STATIC
    a.save()
    response = Client().get(kiosk)
    assert response.status_code == 200
    assert response.context["turned_off"] is True
    assert "code" not in response.context
    assert decode_qr_svg(response.content.decode()) == []
