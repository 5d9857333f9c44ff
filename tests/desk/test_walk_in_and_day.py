"""The desk day page: booking for a walk-in patron, cancellation presets, the state filter,
the live counts and the htmx refresh of the list, each reservation's history."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages

from strapontin.reservations import presence
from strapontin.reservations.models import CancelCause, Reservation, ReservationState
from tests.desk.conftest import TODAY_10, book_confirmed, signed_in
from tests.factories import ResourceFactory

pytestmark = pytest.mark.usefixtures("clock")


def levels(response) -> list[str]:
    return [m.level_tag for m in get_messages(response.wsgi_request)]


def walk_in(client, place, **overrides):
    data = {"resource": place.pk, "start": "09:00", "duration": 60, "email": "walk@example.org"}
    return client.post("/desk/bib-a/sur-place/", data | overrides)


def test_a_walk_in_is_booked_confirmed_at_once_even_for_the_slot_under_way(place_a, agent, clock):
    clock.shift(timedelta(minutes=20))  # 09:20: the 09:00 slot is under way
    response = walk_in(signed_in(agent), place_a)
    assert response.status_code == 302
    assert levels(response) == ["success"]
    reservation = Reservation.objects.get(patron__email="walk@example.org")
    assert reservation.state == ReservationState.CONFIRMED
    assert reservation.resource == place_a
    assert response["Location"].endswith(f"#r-{reservation.reference}")


def test_a_refused_walk_in_comes_back_with_what_was_typed_and_why(place_a, agent):
    client = signed_in(agent)
    walk_in(client, place_a, email="first@example.org")
    response = walk_in(client, place_a, start="09:30", duration=90)
    assert response.status_code == 400
    form = response.context["walk_in"]
    assert form.non_field_errors()
    html = response.content.decode()
    assert 'value="walk@example.org"' in html
    assert f'<option value="{place_a.pk}" selected>' in html
    assert '<option value="09:30" selected>' in html
    assert '<option value="90" selected>' in html
    assert 'id="walk-in" open' in html
    assert 'role="alert"' in html
    assert not Reservation.objects.filter(patron__email="walk@example.org").exists()


def test_the_refused_walk_in_page_still_refreshes_and_links_to_the_day(place_a, agent):
    response = walk_in(signed_in(agent), place_a, email="not-an-address")
    html = response.content.decode()
    assert 'hx-get="/desk/bib-a/"' in html
    assert 'action="/desk/bib-a/" role="search"' in html
    assert 'href="/desk/bib-a/?date=2026-03-03"' in html
    assert 'href="?' not in html


def test_a_walk_in_form_with_bad_fields_comes_back_with_an_error_by_each_field(
    place_a, place_b, agent
):
    client = signed_in(agent)
    for bad, field in (
        ({"email": "not-an-address"}, "email"),
        ({"start": "03:17"}, "start"),
        ({"resource": place_b.pk}, "resource"),
        ({"duration": 7}, "duration"),
    ):
        response = walk_in(client, place_a, **bad)
        assert response.status_code == 400, bad
        assert list(response.context["walk_in"].errors) == [field], bad
        assert f'id="id_{field}_error"' in response.content.decode()
    assert not Reservation.objects.exists()


def test_slots_already_over_are_not_offered_to_walk_ins(place_a, agent, clock):
    clock.shift(timedelta(hours=2, minutes=10))  # 11:10: the 11:00 slot is under way
    starts = signed_in(agent).get("/desk/bib-a/").context["walk_in"].fields["start"].choices
    assert starts[0] == ("11:00", "11:00")
    assert ("10:30", "10:30") not in starts


def test_the_day_page_offers_the_walk_in_form_today_only(place_a, agent):
    client = signed_in(agent)
    assert 'id="walk-in"' in client.get("/desk/bib-a/").content.decode()
    assert 'id="walk-in"' not in client.get("/desk/bib-a/?date=2026-03-03").content.decode()


def test_a_preset_and_free_text_make_the_cancellation_reason(place_a, agent):
    reservation = book_confirmed(place_a)
    client = signed_in(agent)
    presets = client.get("/desk/bib-a/").context["reason_presets"]
    assert len(presets) == 4
    client.post(
        f"/desk/bib-a/reservations/{reservation.reference}/annuler/",
        {"preset": presets[0], "reason": "water leak"},
    )
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.CANCELLED
    assert reservation.cancel_cause == CancelCause.STAFF
    # It follows "Motif :" in the patron's e-mail: the details go in brackets.
    assert reservation.cancel_reason == f"{presets[0]} (water leak)"


def test_the_state_filter_keeps_only_that_state(place_a, agent):
    confirmed = book_confirmed(place_a, "confirmed@example.org")
    cancelled = book_confirmed(
        place_a, "cancelled@example.org", start=TODAY_10 + timedelta(hours=2)
    )
    signed_in(agent).post(
        f"/desk/bib-a/reservations/{cancelled.reference}/annuler/", {"reason": "test"}
    )
    client = signed_in(agent)
    html = client.get("/desk/bib-a/", {"state": "cancelled"}).content.decode()
    assert cancelled.reference in html
    assert confirmed.reference not in html
    html = client.get("/desk/bib-a/", {"state": "nonsense"}).content.decode()
    assert cancelled.reference in html
    assert confirmed.reference in html


def test_counts_show_present_expected_and_free_now(place_a, agent, clock):
    other = ResourceFactory(area=place_a.area)
    third = ResourceFactory(area=place_a.area)
    here = book_confirmed(place_a, "here@example.org")
    book_confirmed(other, "coming@example.org")
    clock.move_to(TODAY_10 + timedelta(minutes=5))
    presence.reservation_check_in_at_desk(reservation=here, user=agent)
    assert third.is_active
    response = signed_in(agent).get("/desk/bib-a/")
    occupancy = response.context["occupancy"]
    assert (occupancy.present, occupancy.expected, occupancy.free_now) == (1, 1, 1)


def test_htmx_polling_gets_only_the_list(place_a, agent):
    reservation = book_confirmed(place_a)
    client = signed_in(agent)
    full = client.get("/desk/bib-a/").content.decode()
    assert 'hx-trigger="every 30s"' in full
    assert "htmx.min.js" in full
    part = client.get("/desk/bib-a/", headers={"HX-Request": "true"}).content.decode()
    assert reservation.reference in part
    assert "<html" not in part
    assert "suspensions-title" not in part
    assert part.lstrip().startswith('<div id="desk-live"')


def test_each_reservation_shows_its_history(place_a, agent):
    reservation = book_confirmed(place_a)
    signed_in(agent).post(
        f"/desk/bib-a/reservations/{reservation.reference}/annuler/",
        {"preset": "Schedule change"},
    )
    html = signed_in(agent).get("/desk/bib-a/").content.decode()
    assert "reservation.cancelled_by_staff" in html
    assert "agent-a" in html


def test_the_day_as_a_timeline_marks_each_booked_hour_by_state(a, place_a, agent):
    from tests.desk.conftest import book_confirmed, signed_in

    book_confirmed(place_a, email="tl@example.org")  # 10:00–11:00 today, expected
    page = signed_in(agent).get("/desk/bib-a/?vue=frise").content.decode()
    table = page.split('class="desk-timeline"')[1].split("</table>")[0]
    row = next(line for line in table.split("<tr>") if place_a.label in line)
    cells = row.split("<td>")[1:]
    assert len(cells) == 14  # 08h … 21h
    assert "○" in cells[2]  # 10h
    assert "○" not in cells[1] + cells[3]
    assert "tl@example.org" in cells[2]


def test_validate_presence_is_offered_once_the_window_opens(place_a, agent, clock):
    reservation = book_confirmed(place_a)  # 10:00: the window opens at 09:45
    client = signed_in(agent)
    html = client.get("/desk/bib-a/").content.decode()
    row = html.split(f'id="r-{reservation.reference}"')[1].split('class="desk-row')[0]
    assert "/valider/" not in row
    assert "09:45" in row
    assert "/annuler/" in row
    clock.move_to(TODAY_10 - timedelta(minutes=15))
    row = client.get("/desk/bib-a/").content.decode().split(f'id="r-{reservation.reference}"')[1]
    assert "/valider/" in row.split('class="desk-row')[0]


def test_the_closure_preview_of_one_day_names_that_day_once(place_a, manager):
    client = signed_in(manager)
    client.cookies["django_language"] = "fr"
    data = {"first_day": "2026-03-09", "last_day": "2026-03-09", "kind": "closed", "reason": "x"}
    html = client.post("/desk/bib-a/fermetures/", data).content.decode()
    assert "Le lundi 9 mars 2026, tout l'établissement est fermé." in html
    data["last_day"] = "2026-03-10"
    html = client.post("/desk/bib-a/fermetures/", data).content.decode()
    assert "Du lundi 9 mars 2026 au mardi 10 mars 2026, tout l'établissement" in html
