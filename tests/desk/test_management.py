"""Managers run their establishment in the desk UI: areas, places in bulk, activation,
opening hours, booking rules — each change audited."""

from datetime import time

import pytest

from strapontin.core.models import AuditEntry
from strapontin.venues.models import Area, BookingPolicy, Feature, OpeningHours, Resource
from tests.desk.conftest import signed_in

pytestmark = pytest.mark.usefixtures("clock")


def bulk(area, **overrides):
    return {
        "label_start": "Place",
        "first": 1,
        "last": 60,
        "area": area.pk,
        "kind": "seat",
        "capacity": 1,
    } | overrides


def test_bulk_creation_creates_exactly_the_places_asked_for(a, manager):
    area = Area.objects.create(establishment=a, name="Étage 2", position=5)
    power = Feature.objects.create(code="power", name_fr="Prise", name_en="Power")
    before = Resource.objects.count()
    response = signed_in(manager).post(
        "/desk/bib-a/gestion/places/", bulk(area, features=[power.pk])
    )
    assert response.status_code == 302
    created = Resource.objects.filter(area=area)
    assert Resource.objects.count() - before == 60
    assert sorted(created.values_list("label", flat=True)) == sorted(
        f"Place {n}" for n in range(1, 61)
    )
    assert all(p.establishment_id == a.pk for p in created)
    assert Resource.features.through.objects.filter(feature=power).count() == 60
    entry = AuditEntry.objects.get(action="place.created_in_bulk")
    assert entry.establishment_id == a.pk
    assert entry.actor == manager


def test_bulk_creation_refuses_duplicates_with_a_form_error_and_creates_none(a, manager):
    area = Area.objects.create(establishment=a, name="Étage 2", position=5)
    Resource.objects.create(area=area, label="Place 30")
    response = signed_in(manager).post("/desk/bib-a/gestion/places/", bulk(area))
    assert response.status_code == 400
    assert "Place 30" in str(response.context["bulk_form"].non_field_errors())
    assert Resource.objects.filter(area=area).count() == 1


@pytest.mark.parametrize(
    "bad", [{"first": 10, "last": 2}, {"last": 10_000}, {"label_start": ""}, {"area": 999999}]
)
def test_bulk_creation_refuses_bad_input(a, manager, bad):
    area = Area.objects.create(establishment=a, name="Étage 2", position=5)
    response = signed_in(manager).post("/desk/bib-a/gestion/places/", bulk(area) | bad)
    assert response.status_code == 400
    assert response.context["bulk_form"].errors
    assert not Resource.objects.filter(area=area).exists()


def test_bulk_creation_on_an_area_of_another_establishment_is_refused(a, place_b, manager):
    response = signed_in(manager).post("/desk/bib-a/gestion/places/", bulk(place_b.area))
    assert response.status_code == 400
    assert Resource.objects.filter(area=place_b.area).count() == 1


def test_areas_are_created_renamed_and_reordered(a, place_a, manager):
    client = signed_in(manager)
    assert client.get("/desk/bib-a/gestion/").status_code == 200
    assert client.post("/desk/bib-a/gestion/zones/", {"name": "Salle silence"}).status_code == 302
    new = Area.objects.get(establishment=a, name="Salle silence")
    duplicate = client.post("/desk/bib-a/gestion/zones/", {"name": "salle silence"})
    assert duplicate.status_code == 400
    assert duplicate.context["area_form"].errors
    client.post(f"/desk/bib-a/gestion/zones/{new.pk}/renommer/", {"name": "Silence"})
    new.refresh_from_db()
    assert new.name == "Silence"
    client.post(f"/desk/bib-a/gestion/zones/{new.pk}/deplacer/", {"direction": "up"})
    assert list(Area.objects.filter(establishment=a).order_by("position")) == [new, place_a.area]
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"area.created", "area.renamed", "area.moved"} <= actions


def test_a_place_is_deactivated_and_activated(place_a, manager):
    client = signed_in(manager)
    client.post(f"/desk/bib-a/gestion/places/{place_a.pk}/active/", {"active": "0"})
    place_a.refresh_from_db()
    assert not place_a.is_active
    client.post(f"/desk/bib-a/gestion/places/{place_a.pk}/active/", {"active": "1"})
    place_a.refresh_from_db()
    assert place_a.is_active
    assert AuditEntry.objects.filter(action="place.deactivated").count() == 1
    assert AuditEntry.objects.filter(action="place.activated").count() == 1


def test_opening_hours_are_added_removed_and_overlaps_refused(a, manager):
    client = signed_in(manager)
    OpeningHours.objects.filter(establishment=a, weekday=6).delete()
    ok = client.post(
        "/desk/bib-a/gestion/horaires/", {"weekday": 6, "opens": "10:00", "closes": "12:00"}
    )
    assert ok.status_code == 302
    hours = OpeningHours.objects.get(establishment=a, weekday=6)
    assert (hours.opens, hours.closes) == (time(10), time(12))
    overlap = client.post(
        "/desk/bib-a/gestion/horaires/", {"weekday": 6, "opens": "11:00", "closes": "13:00"}
    )
    assert overlap.status_code == 400
    backwards = client.post(
        "/desk/bib-a/gestion/horaires/", {"weekday": 6, "opens": "15:00", "closes": "13:00"}
    )
    assert backwards.status_code == 400
    client.post(f"/desk/bib-a/gestion/horaires/{hours.pk}/supprimer/")
    assert not OpeningHours.objects.filter(establishment=a, weekday=6).exists()
    assert AuditEntry.objects.filter(action__startswith="opening_hours.").count() == 2


def policy_data(**overrides):
    return {
        "slot_minutes": 30,
        "min_duration_minutes": 60,
        "max_duration_minutes": 180,
        "horizon_days": 14,
        "day_opens_at": "08:00",
        "max_per_day": 2,
        "max_per_week": 10,
        "confirmation_mode": "always",
        "confirmation_deadline_minutes": 60,
        "max_pending_per_patron": 2,
        "checkin_opens_before_minutes": 10,
        "checkin_closes_after_minutes": 20,
        "noshow_limit": 3,
        "noshow_period_days": 30,
        "noshow_suspension_days": 7,
        "reminder_minutes_before": 60,
        "fair_window_minutes": 5,
        "break_max_minutes": 30,
        "allowed_email_domains": "",
    } | overrides


def test_a_manager_turns_fair_opening_on_in_the_booking_rules(a, manager):
    page = signed_in(manager).get("/desk/bib-a/gestion/").content.decode()
    assert "Ouverture équitable" in page
    data = policy_data(fair_opening="on", fair_window_minutes=10, day_opens_at="08:00")
    response = signed_in(manager).post("/desk/bib-a/gestion/regles/", data)
    assert response.status_code == 302
    policy = BookingPolicy.objects.get(establishment=a, area__isnull=True)
    assert policy.fair_opening
    assert policy.fair_window_minutes == 10
    refused = signed_in(manager).post(
        "/desk/bib-a/gestion/regles/", policy_data(fair_opening="on", fair_window_minutes=0)
    )
    assert refused.status_code == 400
    assert "fair_window_minutes" in refused.context["policy_form"].errors


def test_the_booking_rules_are_saved_and_audited(a, manager):
    response = signed_in(manager).post("/desk/bib-a/gestion/regles/", policy_data())
    assert response.status_code == 302
    policy = BookingPolicy.objects.get(establishment=a, area__isnull=True)
    assert policy.horizon_days == 14
    assert policy.confirmation_mode == "always"
    assert policy.checkin_closes_after_minutes == 20
    entry = AuditEntry.objects.get(action="policy.updated")
    assert entry.data["horizon_days"] == {"old": "7", "new": "14"}


@pytest.mark.parametrize(
    "bad",
    [
        {"min_duration_minutes": 240, "max_duration_minutes": 60},
        {"min_duration_minutes": 45},
        {"confirmation_mode": "never"},
        {"slot_minutes": 0},
    ],
)
def test_bad_booking_rules_are_refused_with_a_form_error(a, manager, bad):
    response = signed_in(manager).post("/desk/bib-a/gestion/regles/", policy_data(**bad))
    assert response.status_code == 400
    assert response.context["policy_form"].errors
    assert not AuditEntry.objects.filter(action="policy.updated").exists()


def test_a_manager_sets_the_domains_in_the_booking_rules(a, manager):
    response = signed_in(manager).post(
        "/desk/bib-a/gestion/regles/",
        policy_data(allowed_email_domains="@Univ-Example.fr; etu.univ-example.fr, univ-example.fr"),
    )
    assert response.status_code == 302
    policy = BookingPolicy.objects.get(establishment=a, area__isnull=True)
    assert policy.allowed_email_domains == "univ-example.fr etu.univ-example.fr"
    entry = AuditEntry.objects.get(action="policy.updated")
    assert entry.data["allowed_email_domains"]["new"] == "univ-example.fr etu.univ-example.fr"


@pytest.mark.parametrize("bad", ["not a domain", "localhost", "exa_mple.fr", "-x.fr"])
def test_a_domain_that_is_no_domain_is_a_form_error(a, manager, bad):
    response = signed_in(manager).post(
        "/desk/bib-a/gestion/regles/", policy_data(allowed_email_domains=bad)
    )
    assert response.status_code == 400
    assert "allowed_email_domains" in response.context["policy_form"].errors
