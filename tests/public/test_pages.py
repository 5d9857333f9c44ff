"""The patron pages through Django's test client: journey, errors as 4xx, never a 500."""

import re

import pytest
from django.core import mail
from django.test import Client

from strapontin.public.forms import slot_value
from strapontin.reservations.models import Reservation, ReservationState
from tests.conftest import paris
from tests.factories import ResourceFactory

pytestmark = pytest.mark.usefixtures("clock")

TUESDAY_10 = paris(2026, 3, 3, 10, 0)


def book_url(place) -> str:
    return f"/{place.establishment.slug}/reservation/reserver/"


def post_booking(client: Client, place, email="alice@example.org", start=TUESDAY_10, duration=60):
    return client.post(
        book_url(place), {"slot": slot_value(place.pk, start), "duration": duration, "email": email}
    )


def link_from(body: str, action: str) -> str:
    return re.search(rf"https?://[^/\s]+(/r/[^/\s]+/{action}/)", body).group(1)


def open_link(client: Client, link: str) -> str:
    """Follow an e-mail's link as a browser does: the token's address only redirects, to the
    token-free page of the action; that page is returned."""
    response = client.get(link)
    assert response.status_code == 302, response
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    assert "/r/" in response["Location"]
    assert link.split("/")[2] not in response["Location"]
    return response["Location"]


def test_pages_of_the_journey_answer(place, client):
    slug = place.establishment.slug
    for url in [
        "/",
        f"/{slug}/",
        f"/{slug}/reservation/",
        f"/{slug}/aide/",
        "/mes-reservations/",
        f"/{slug}/reservation/?date=2026-03-03&duration=120",
    ]:
        assert client.get(url).status_code == 200, url


def test_french_is_the_default_and_english_is_one_switch_away(place, client):
    page = client.get(f"/{place.establishment.slug}/reservation/")
    assert '<html lang="fr">' in page.content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get(f"/{place.establishment.slug}/reservation/")
    assert '<html lang="en">' in page.content.decode()


def test_breadcrumb_follows_the_guide(place, client):
    html = client.get(f"/{place.establishment.slug}/reservation/").content.decode()
    crumbs = re.findall(r"<li>(?:<a [^>]*>|<span [^>]*>)([^<]+)<", html.split("breadcrumb")[1])
    assert crumbs[2:4] == [place.establishment.name, crumbs[3]]
    assert len(crumbs) >= 4


def test_grid_offers_free_slots_and_hides_taken_ones(place, client):
    other = ResourceFactory(area=place.area)
    Reservation.objects.create(
        establishment=place.establishment,
        resource=place,
        patron_id=_patron().pk,
        start=TUESDAY_10,
        end=paris(2026, 3, 3, 11, 0),
        state=ReservationState.CONFIRMED,
        created_at=TUESDAY_10,
        checkin_opens_at=TUESDAY_10,
        checkin_closes_at=paris(2026, 3, 3, 10, 30),
    )
    html = client.get(f"/{place.establishment.slug}/reservation/?date=2026-03-03").content.decode()
    assert f'value="{slot_value(other.pk, TUESDAY_10)}"' in html
    assert f'value="{slot_value(place.pk, TUESDAY_10)}"' not in html
    # 09:30 + 60 min would run into the 10:00 reservation: not selectable either.
    assert f'value="{slot_value(place.pk, paris(2026, 3, 3, 9, 30))}"' not in html
    assert f'value="{slot_value(place.pk, paris(2026, 3, 3, 11, 0))}"' in html


def _patron():
    from strapontin.reservations.models import Patron

    return Patron.objects.create(email="someone@example.org")


def test_whole_journey_book_confirm_see_cancel(place, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_booking(client, place)
    assert response.status_code == 302
    sent_page = client.get(response["Location"]).content.decode()
    assert "spam" in sent_page
    confirm = link_from(mail.outbox[0].body, "confirmer")
    # A GET (a mail scanner following the link) changes nothing.
    landing = open_link(client, confirm)
    assert client.get(landing).status_code == 200
    assert Reservation.objects.get().state == ReservationState.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        client.post(landing)
    reservation = Reservation.objects.get()
    assert reservation.state == ReservationState.CONFIRMED
    confirmed = mail.outbox[-1]
    assert any(a.filename.endswith(".ics") for a in confirmed.attachments)
    assert "BEGIN:VEVENT" in confirmed.attachments[0].content
    mine = client.get("/mes-reservations/").content.decode()
    assert reservation.reference in mine or reservation.resource.label in mine
    response = client.post(f"/mes-reservations/{reservation.reference}/annuler/")
    assert response.status_code == 302
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.CANCELLED


def test_cancel_link_from_the_email_needs_a_post(place, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        post_booking(client, place)
    cancel = link_from(mail.outbox[0].body, "annuler")
    fresh = Client()
    assert fresh.head(cancel).status_code == 302
    landing = open_link(fresh, cancel)
    page = fresh.get(landing)
    assert page.status_code == 200
    assert fresh.head(landing).status_code == 200
    assert Reservation.objects.get().state == ReservationState.PENDING
    # The token-free page keeps the site's policy, so its form's Origin is sent (CSRF).
    assert page["Referrer-Policy"] == "same-origin"
    assert "no-store" in page["Cache-Control"]
    assert fresh.post(cancel).status_code == 405
    fresh.post(landing)
    assert Reservation.objects.get().state == ReservationState.CANCELLED


def test_the_page_of_a_link_needs_the_browser_that_opened_it(
    place, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_booking(client, place)
    landing = open_link(Client(), link_from(mail.outbox[0].body, "annuler"))
    stranger = Client()
    assert stranger.get(landing).status_code == 404
    assert stranger.post(landing).status_code == 404
    # A forged cookie naming the token's id is refused: only this server can sign it.
    stranger.cookies["strapontin_links"] = str(Reservation.objects.get().tokens.first().pk)
    assert stranger.post(landing).status_code == 404
    assert Reservation.objects.get().state == ReservationState.PENDING


def test_a_token_for_one_purpose_does_not_work_for_another(
    place, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_booking(client, place)
    cancel = link_from(mail.outbox[0].body, "annuler")
    as_confirm = cancel.replace("/annuler/", "/confirmer/")
    invalid = client.get(as_confirm)
    assert invalid["Location"] == "/r/lien-invalide/"
    assert client.get(invalid["Location"]).status_code == 404
    # Even opened as a cancel link, its cookie does not open the confirmation page.
    landing = open_link(client, cancel)
    assert client.post(landing.replace("/annuler/", "/confirmer/")).status_code == 404
    assert Reservation.objects.get().state == ReservationState.PENDING


def test_taken_slot_is_a_409_with_its_code(place, client):
    post_booking(client, place)
    response = post_booking(Client(), place, email="bob@example.org")
    assert response.status_code == 409
    assert 'data-code="slot_taken"' in response.content.decode()


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"slot": "garbage", "duration": "60", "email": "a@example.org"}, 400),
        ({"slot": "999999-20260303T0900Z", "duration": "60", "email": "a@example.org"}, 400),
        ({"duration": "60", "email": "a@example.org"}, 400),
        ({"slot": "{pk}-20260303T0900Z", "duration": "abc", "email": "a@example.org"}, 400),
        ({"slot": "{pk}-20260303T0900Z", "duration": "-5", "email": "a@example.org"}, 400),
        ({"slot": "{pk}-20260303T0900Z", "duration": "60", "email": "not-an-email"}, 400),
        ({"slot": "{pk}-20260303T0915Z", "duration": "60", "email": "a@example.org"}, 400),
        ({"slot": "{pk}-20260302T0500Z", "duration": "60", "email": "a@example.org"}, 400),
        ({"slot": "{pk}-20260303T0900Z", "duration": "30", "email": "a@example.org"}, 400),
    ],
)
def test_bad_booking_input_is_a_clear_4xx(place, client, data, status):
    data = {k: v.replace("{pk}", str(place.pk)) for k, v in data.items()}
    response = client.post(book_url(place), data)
    assert response.status_code == status
    assert not Reservation.objects.exists()


@pytest.mark.parametrize(
    "query",
    ["date=2026-13-45", "date=yesterday", "area=abc", "duration=7", "page=-1", "kind=spaceship"],
)
def test_bad_grid_filters_are_a_400_not_a_500(place, client, query):
    response = client.get(f"/{place.establishment.slug}/reservation/?{query}")
    assert response.status_code == 400


def test_date_outside_the_horizon_says_when_booking_opens(place, client):
    response = client.get(f"/{place.establishment.slug}/reservation/?date=2027-01-01")
    assert response.status_code == 200
    assert 'class="notice"' in response.content.decode()


def test_unknown_establishment_and_reservation_are_404(place, client):
    assert client.get("/nowhere/reservation/").status_code == 404
    assert client.get(f"/{place.establishment.slug}/reservation/ZZZZZZZZ/").status_code == 404
    assert client.get("/r/not-a-token/confirmer/", follow=True).status_code == 404


def test_another_browser_cannot_see_the_what_next_page(place, client):
    response = post_booking(client, place)
    assert Client().get(response["Location"]).status_code == 404


def test_sign_in_answer_is_the_same_for_known_and_unknown_addresses(place, client):
    post_booking(client, place)
    known = Client().post("/mes-reservations/", {"email": "alice@example.org"}, follow=True)
    unknown = Client().post("/mes-reservations/", {"email": "nobody@example.org"}, follow=True)

    def strip(page) -> str:
        return re.sub(
            r"csrfmiddlewaretoken\" value=\"[^\"]+|\S+@example\.org", "", page.content.decode()
        )

    assert known.status_code == unknown.status_code == 200
    assert strip(known) == strip(unknown)


def test_sign_in_link_shows_reservations_on_another_device(
    place, client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post_booking(client, place)
    other = Client()
    assert (
        "Place" not in other.get("/mes-reservations/").content.decode().split("<main")[1]
        or place.label not in other.get("/mes-reservations/").content.decode()
    )
    with django_capture_on_commit_callbacks(execute=True):
        other.post("/mes-reservations/", {"email": "alice@example.org"})
    landing = open_link(other, link_from(mail.outbox[-1].body, "connexion"))
    assert other.get(landing).status_code == 200
    other.post(landing)
    assert place.label in other.get("/mes-reservations/").content.decode()


def test_resend_sends_the_email_again(place, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_booking(client, place)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response["Location"])
    assert len(mail.outbox) == 2


def test_demo_mailbox_shows_the_emails(place, client, settings):
    from strapontin.reservations.models import DemoMail

    DemoMail.objects.create(to="a@example.org", subject="Confirmez", body_text="http://x/r/t/")
    page = client.get("/demo/mails/")
    assert page.status_code == 200
    assert "Confirmez" in page.content.decode()
    mail_id = DemoMail.objects.get().pk
    assert client.get(f"/demo/mails/{mail_id}/").status_code == 200
    settings.DEMO_MAILBOX = False
    assert client.get("/demo/mails/").status_code == 404


def test_day_links_keep_the_filters(place, client):
    html = client.get(
        f"/{place.establishment.slug}/reservation/?date=2026-03-03&duration=120&area="
        f"{place.area_id}"
    ).content.decode()
    assert f"?date=2026-03-04&amp;duration=120&amp;area={place.area_id}" in html
    assert f"?date=2026-03-02&amp;duration=120&amp;area={place.area_id}" in html


def test_live_occupancy_counts_present_expected_and_free(place, client):
    from strapontin.reservations.models import Patron

    ResourceFactory(area=place.area)
    patron = Patron.objects.create(email="here@example.org")
    Reservation.objects.create(
        establishment=place.establishment,
        resource=place,
        patron=patron,
        start=paris(2026, 3, 2, 8, 30),
        end=paris(2026, 3, 2, 10, 0),
        state=ReservationState.CHECKED_IN,
        created_at=paris(2026, 3, 2, 8, 0),
        checkin_opens_at=paris(2026, 3, 2, 8, 15),
        checkin_closes_at=paris(2026, 3, 2, 9, 0),
    )
    response = client.get(f"/{place.establishment.slug}/affluence.json")
    assert response["Access-Control-Allow-Origin"] == "*"
    figures = response.json()
    assert (figures["open_now"], figures["places"], figures["free_now"]) == (True, 2, 1)
    assert (figures["present"], figures["expected"]) == (1, 0)
    page = client.get(f"/{place.establishment.slug}/").content.decode()
    assert "<dd>1</dd>" in page


def test_a_large_grid_is_paged_with_a_constant_number_of_queries(
    place, client, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = f"/{place.establishment.slug}/reservation/?date=2026-03-03"
    client.get(url)  # warm: the session and the caches of the first request
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(120):
        ResourceFactory(area=place.area)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(url).content.decode()
    assert page.count('<fieldset class="place">') == 40
    assert "page=2" in page
    last = client.get(f"{url}&page=4").content.decode()
    assert last.count('<fieldset class="place">') == 121 - 3 * 40
