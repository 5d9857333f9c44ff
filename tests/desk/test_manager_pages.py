"""Managers' pages through the client: a closure previewed then applied (patrons e-mailed the
reason), the statistics page and its CSV with the selector's numbers, the journal."""

import csv
import io
from datetime import date, timedelta

import pytest
from django.core import mail

from strapontin.core.models import AuditEntry
from strapontin.reservations.models import Patron, Reservation, ReservationState
from strapontin.reservations.statistics import establishment_statistics, statistics_csv_rows
from strapontin.venues.models import ScheduleException
from tests.conftest import paris
from tests.desk.conftest import TODAY_10, book_confirmed, signed_in
from tests.factories import AreaFactory, ResourceFactory, reservation_in_march_2026

pytestmark = pytest.mark.usefixtures("clock")

TOMORROW = "2026-03-03"


def closure(**overrides):
    return {
        "first_day": TOMORROW,
        "last_day": TOMORROW,
        "area": "",
        "kind": "closed",
        "opens": "",
        "closes": "",
        "reason": "Fermeture exceptionnelle",
    } | overrides


def test_a_closure_is_previewed_then_applied_and_the_patrons_are_emailed(
    place_a, manager, django_capture_on_commit_callbacks
):
    tomorrow = book_confirmed(place_a, "t@example.org", start=TODAY_10 + timedelta(days=1))
    today = book_confirmed(place_a, "today@example.org")
    client = signed_in(manager)
    assert client.get("/desk/bib-a/fermetures/").status_code == 200

    preview = client.post("/desk/bib-a/fermetures/", closure())
    assert preview.status_code == 200
    assert [r.pk for r in preview.context["affected"]] == [tomorrow.pk]
    assert "t@example.org" in preview.content.decode()
    # Nothing has changed yet.
    assert not ScheduleException.objects.exists()
    assert Reservation.objects.get(pk=tomorrow.pk).state == ReservationState.CONFIRMED

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post("/desk/bib-a/fermetures/", closure(confirm="1"), follow=True)
    assert done.status_code == 200
    assert done.context["messages"]
    tomorrow.refresh_from_db()
    assert tomorrow.state == ReservationState.CANCELLED
    assert tomorrow.cancel_reason == "Fermeture exceptionnelle"
    assert Reservation.objects.get(pk=today.pk).state == ReservationState.CONFIRMED
    assert [m.to for m in mail.outbox if "Fermeture exceptionnelle" in m.body] == [
        ["t@example.org"]
    ]
    assert AuditEntry.objects.filter(action="establishment.closed").count() == 1
    # Listed among the upcoming closures.
    assert "Fermeture exceptionnelle" in done.content.decode()


def test_reduced_hours_on_one_area_through_the_form(place_a, manager):
    other_area = ResourceFactory(area=AreaFactory(establishment=place_a.establishment))
    early = book_confirmed(place_a, "early@example.org", start=paris(2026, 3, 3, 9, 0))
    elsewhere = book_confirmed(other_area, "other@example.org", start=paris(2026, 3, 3, 9, 0))
    response = signed_in(manager).post(
        "/desk/bib-a/fermetures/",
        closure(area=place_a.area.pk, kind="reduced", opens="12:00", closes="18:00", confirm="1"),
    )
    assert response.status_code == 302
    early.refresh_from_db()
    elsewhere.refresh_from_db()
    assert early.state == ReservationState.CANCELLED
    assert elsewhere.state == ReservationState.CONFIRMED


@pytest.mark.parametrize(
    "bad",
    [
        {"last_day": "2026-03-01"},
        {"reason": ""},
        {"kind": "reduced"},
        {"kind": "reduced", "opens": "18:00", "closes": "12:00"},
        {"first_day": "not a date"},
        {"area": "999999"},
    ],
)
def test_bad_closures_are_refused_with_a_form_error(place_a, manager, bad):
    response = signed_in(manager).post("/desk/bib-a/fermetures/", closure(confirm="1") | bad)
    assert response.status_code == 400
    assert response.context["form"].errors
    assert not ScheduleException.objects.exists()


def test_an_area_of_another_establishment_cannot_be_closed_from_here(place_a, place_b, manager):
    response = signed_in(manager).post(
        "/desk/bib-a/fermetures/", closure(area=place_b.area.pk, confirm="1")
    )
    assert response.status_code == 400
    assert not ScheduleException.objects.exists()


@pytest.fixture
def history(place_a):
    """Last week's use of A, by hand: 2 used, 1 no-show, 2 cancelled, 1 expired."""
    patron = Patron.objects.create(email="p@example.org")
    s = ReservationState
    reservation_in_march_2026(place_a, patron, 1, 10, 12, s.CHECKED_IN)
    reservation_in_march_2026(
        place_a, patron, 1, 14, 16, s.RELEASED, ended_at=paris(2026, 3, 1, 15, 0)
    )
    reservation_in_march_2026(place_a, patron, 2, 9, 10, s.NO_SHOW)
    reservation_in_march_2026(place_a, patron, 2, 10, 11, s.CANCELLED, cancel_cause="staff")
    reservation_in_march_2026(place_a, patron, 2, 11, 12, s.CANCELLED, cancel_cause="patron")
    reservation_in_march_2026(place_a, patron, 2, 12, 13, s.EXPIRED)
    return place_a.establishment


def test_the_statistics_page_shows_the_selectors_numbers(history, manager):
    response = signed_in(manager).get(
        "/desk/bib-a/statistiques/", {"from": "2026-03-01", "to": "2026-03-02"}
    )
    assert response.status_code == 200
    expected = establishment_statistics(history, date(2026, 3, 1), date(2026, 3, 2))
    shown = response.context["stats"]
    assert shown.reservations == expected.reservations == 6
    assert shown.used == 2
    assert shown.no_shows == 1
    assert shown.occupancy == expected.occupancy
    assert response.context["no_show_percent"] == round(expected.no_show_rate * 100, 1)
    # The charts draw the tables' numbers.
    data = response.context["data"]
    assert data["by_day"]["values"] == list(expected.by_day.values()) == [2, 4]
    assert data["by_hour"]["values"] == list(expected.by_hour.values())
    assert data["by_area"]["values"] == list(expected.by_area.values())
    html = response.content.decode()
    assert '<script id="stats-data" type="application/json">' in html
    assert "chart.umd.js" in html
    assert 'id="table-heat"' in html


def test_the_statistics_default_to_the_last_30_days_and_survive_bad_dates(history, manager):
    client = signed_in(manager)
    stats = client.get("/desk/bib-a/statistiques/").context["stats"]
    assert (stats.first_day, stats.last_day) == (date(2026, 2, 1), date(2026, 3, 2))
    for bad in (
        {"from": "garbage"},
        {"from": "2026-03-02", "to": "2026-03-01"},
        {"to": "3000-01-01"},
    ):
        response = client.get("/desk/bib-a/statistiques/", bad)
        assert response.status_code == 200, bad
        assert response.context["form"].errors, bad


def test_the_csv_export_has_the_selectors_rows(history, manager):
    response = signed_in(manager).get(
        "/desk/bib-a/statistiques.csv", {"from": "2026-03-01", "to": "2026-03-02"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    expected = establishment_statistics(history, date(2026, 3, 1), date(2026, 3, 2))
    assert rows == statistics_csv_rows(expected)
    assert ["total_reservations", "6"] in rows


def test_the_journal_lists_this_establishments_entries_only(place_a, place_b, manager, superuser):
    mine = book_confirmed(place_a, "mine@example.org")
    theirs = book_confirmed(place_b, "theirs@example.org")
    signed_in(manager).post(
        f"/desk/bib-a/reservations/{mine.reference}/annuler/", {"reason": "Travaux"}
    )
    signed_in(superuser).post(
        f"/desk/bib-b/reservations/{theirs.reference}/annuler/", {"reason": "Ailleurs"}
    )
    response = signed_in(manager).get("/desk/bib-a/journal/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "reservation.cancelled_by_staff" in html
    assert "Travaux" in html
    assert "manager-a" in html
    assert "Ailleurs" not in html
    assert signed_in(manager).get("/desk/bib-a/journal/?page=999").status_code == 200
