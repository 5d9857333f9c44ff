"""Fair opening, before the draw: during the window a "Réserver" on the opening day asks for
the place instead of booking it, an unproven address proves itself by the e-mail's link, and
one inbox has one request per draw."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client

from strapontin.core.errors import DomainError
from strapontin.reservations import lottery, services
from strapontin.reservations.models import (
    Draw,
    DrawRequest,
    DrawRequestState,
    Patron,
    Reservation,
)
from tests.conftest import paris
from tests.lottery.conftest import DRAWN_DAY, SLOT, WINDOW_CLOSES, ask, entered
from tests.security.helpers import database_snapshot

pytestmark = pytest.mark.usefixtures("clock")


def draw_link(outbox=None) -> str:
    for message in reversed(outbox or mail.outbox):
        for word in message.body.split():
            if "/r/" in word and word.rstrip("/").endswith("tirage"):
                return word[word.index("/r/") :]
    raise AssertionError("no draw link in the e-mails")


def test_reserver_during_the_window_asks_for_the_place_instead_of_booking_it(seats):
    client = Client()
    page = client.get(
        f"/bu-fair/reservation/reserver/?slot={seats[0].pk}-20260309T0900Z&duration=60"
    )
    assert page.status_code == 200
    assert "tirage au sort à 09:05, résultat par e-mail" in page.content.decode()

    answer = ask(client, seats[0], "alice@example.org")

    assert answer.status_code == 302
    assert not Reservation.objects.exists()
    request = DrawRequest.objects.get()
    assert request.state == DrawRequestState.UNCONFIRMED
    assert answer["Location"] == f"/bu-fair/tirage/demande/{request.reference}/"
    sent = client.get(answer["Location"]).content.decode()
    assert "Tirage au sort à 09:05, résultat par e-mail" in sent
    assert "alice@example.org" in sent
    assert mail.outbox[-1].to == ["alice@example.org"]
    assert "09:05" in mail.outbox[-1].body
    assert draw_link()


def test_the_booking_service_refuses_the_opening_day_during_the_window_only(seats):
    with pytest.raises(DomainError) as caught:
        services.reservation_create(
            resource=seats[0], email="a@example.org", start=SLOT, end=SLOT + timedelta(hours=1)
        )
    assert caught.value.code == "fair_opening_window"
    earlier_day = paris(2026, 3, 5, 10, 0)  # opened on an earlier morning: booked as usual
    made = services.reservation_create(
        resource=seats[0],
        email="a@example.org",
        start=earlier_day,
        end=earlier_day + timedelta(hours=1),
    )
    assert made.state == "pending"


def test_the_day_is_not_bookable_before_its_window_opens(seats, clock):
    clock.move_to(paris(2026, 3, 2, 8, 59))
    with pytest.raises(DomainError) as caught:
        services.reservation_create(
            resource=seats[0], email="a@example.org", start=SLOT, end=SLOT + timedelta(hours=1)
        )
    assert caught.value.code == "beyond_horizon"


def test_a_get_of_the_emailed_link_changes_nothing_and_the_post_enters_the_draw(seats):
    ask(Client(), seats[0], "alice@example.org")
    browser = Client()
    before = database_snapshot()
    answer = browser.get(draw_link())
    page = browser.get(answer["Location"])
    browser.head(answer["Location"])
    assert page.status_code == 200
    assert database_snapshot() == before
    assert "Confirmer ma demande" in page.content.decode()

    done = browser.post(answer["Location"])

    assert done.status_code == 200
    request = DrawRequest.objects.get()
    assert request.state == DrawRequestState.ENTERED
    assert request.patron.is_verified
    # The browser is proven now: its next request elsewhere would enter at once.
    assert browser.session["patron_id"] == request.patron_id


def test_a_proven_browser_enters_at_once_with_a_receipt(seats):
    request = entered(seats[0], "bob@example.org")
    assert request.state == DrawRequestState.ENTERED
    assert "09:05" in mail.outbox[-1].body
    assert "/r/" not in mail.outbox[-1].body  # nothing to confirm


def test_one_request_per_inbox_aliases_included(seats):
    entered(seats[0], "carol@gmail.com")
    alias, _created = Patron.objects.get_or_create(
        email="c.a.r.o.l+draw@gmail.com", defaults={"verified_at": paris(2026, 2, 1, 9, 0)}
    )
    with pytest.raises(DomainError) as caught:
        lottery.draw_request_create(
            resource=seats[1],
            email=alias.email,
            start=SLOT,
            end=SLOT + timedelta(hours=1),
            known_patron_id=alias.pk,
        )
    assert caught.value.code == "already_requested"


def test_an_unproven_second_request_gets_the_same_answer_and_its_link_does_not_enter_it(seats):
    """No enumeration: a stranger cannot learn that an address has asked already."""
    entered(seats[0], "dave@example.org")
    first = ask(Client(), seats[1], "dave@example.org")
    assert first.status_code == 302
    browser = Client()
    page = browser.get(draw_link())["Location"]
    browser.post(page)
    states = sorted(DrawRequest.objects.values_list("state", flat=True))
    assert states == [DrawRequestState.ENTERED, DrawRequestState.VOID]


def test_an_inbox_gets_a_few_links_at_most_and_the_same_answer_after(seats):
    for _attempt in range(lottery.UNCONFIRMED_PER_INBOX):
        ask(Client(), seats[0], "eve@example.org")
    mail.outbox.clear()
    answer = ask(Client(), seats[0], "eve@example.org")
    assert answer.status_code == 200
    assert "eve@example.org" in answer.content.decode()
    assert mail.outbox == []
    assert DrawRequest.objects.count() == lottery.UNCONFIRMED_PER_INBOX


def test_requests_are_rate_limited_per_client(seats, monkeypatch):
    from strapontin.public import throttling

    monkeypatch.setattr(throttling, "BOOKINGS_PER_CLIENT", 2)
    client = Client()
    assert ask(client, seats[0], "f1@example.org").status_code == 302
    assert ask(client, seats[0], "f2@example.org").status_code == 302
    assert ask(client, seats[0], "f3@example.org").status_code == 429


def test_a_link_confirmed_after_the_window_closed_does_not_enter(seats, clock):
    ask(Client(), seats[0], "gina@example.org")
    browser = Client()
    page = browser.get(draw_link())["Location"]
    clock.move_to(WINDOW_CLOSES)
    answer = browser.post(page)
    assert answer.status_code == 400
    assert DrawRequest.objects.get().state == DrawRequestState.UNCONFIRMED


def test_a_request_outside_the_rules_is_refused_with_its_code(seats):
    answer = ask(Client(), seats[0], "hugo@example.org", start=paris(2026, 3, 9, 23, 0))
    assert answer.status_code == 400
    assert answer.context["error_code"] == "outside_opening_hours"
    assert not DrawRequest.objects.exists()


def test_the_commitment_is_published_before_the_draw_and_the_seed_only_after(seats, clock):
    page = Client().get(f"/bu-fair/tirage/{DRAWN_DAY}/").content.decode()
    draw = Draw.objects.get()
    assert draw.commitment in page
    assert draw.seed not in page
    clock.move_to(WINDOW_CLOSES)
    lottery.sweep_draws()
    page = Client().get(f"/bu-fair/tirage/{DRAWN_DAY}/").content.decode()
    assert draw.seed in page
    assert draw.commitment in page


def test_the_establishment_page_and_the_grid_say_when_fair_opening_applies(seats, clock):
    grid = Client().get("/bu-fair/reservation/?date=2026-03-09").content.decode()
    assert "Ouverture équitable" in grid
    assert "recueillies jusqu’à 09:05" in grid or "recueillies jusqu'à 09:05" in grid
    clock.move_to(paris(2026, 3, 2, 12, 0))
    page = Client().get("/bu-fair/").content.decode()
    assert "Ouverture équitable" in page
    assert "mardi 3 mars à 09:00" in page


def test_without_fair_opening_nothing_changes(place):
    page = Client().get(f"/{place.establishment.slug}/").content.decode()
    assert "Ouverture équitable" not in page


def test_the_help_page_explains_the_draw_only_where_it_applies(seats, place):
    assert "tirées au sort" in Client().get("/bu-fair/aide/").content.decode()
    other = Client().get(f"/{place.establishment.slug}/aide/").content.decode()
    assert "tirées au sort" not in other
