"""Managers edit the feature catalogue (names in French and English) and each place (label, kind,
capacity, floor or zone, features, bookable flag, position) in the desk UI, audited. The
catalogue is shared: a feature that another establishment uses is not theirs to change."""

import pytest
from django.contrib.messages import get_messages

from strapontin.core.models import AuditEntry
from strapontin.reservations.models import ReservationState
from strapontin.venues.models import Area, Feature, Resource
from tests.desk.conftest import book_confirmed, signed_in

pytestmark = pytest.mark.usefixtures("clock")


def levels(response) -> list[str]:
    return [m.level_tag for m in get_messages(response.wsgi_request)]


@pytest.fixture
def power(db) -> Feature:
    return Feature.objects.create(code="power", name_fr="Prise électrique", name_en="Power socket")


def test_a_manager_adds_a_feature_in_both_languages_and_patrons_can_filter_by_it(
    a, place_a, manager, client
):
    staff = signed_in(manager)
    response = staff.post(
        "/desk/bib-a/gestion/caracteristiques/",
        {"name_fr": "Vue sur le parc", "name_en": "Park view"},
    )
    assert response.status_code == 302
    feature = Feature.objects.get(name_en="Park view")
    assert (feature.code, feature.name_fr) == ("park-view", "Vue sur le parc")
    entry = AuditEntry.objects.get(action="feature.created")
    assert (entry.establishment_id, entry.actor) == (a.pk, manager)

    place_page = staff.get(f"/desk/bib-a/gestion/places/{place_a.pk}/").content.decode()
    assert "Vue sur le parc" in place_page
    staff.post(
        f"/desk/bib-a/gestion/places/{place_a.pk}/", place_data(place_a, features=[feature.pk])
    )
    assert list(place_a.features.all()) == [feature]

    grid = client.get(
        "/bib-a/reservation/", {"feature": "park-view"}, headers={"Accept-Language": "fr"}
    )
    assert "Vue sur le parc" in grid.content.decode()
    english = client.get(
        "/bib-a/reservation/", {"feature": "park-view"}, headers={"Accept-Language": "en"}
    )
    assert "Park view" in english.content.decode()


def test_a_second_feature_with_a_name_already_in_the_catalogue_is_refused(a, manager, power):
    response = signed_in(manager).post(
        "/desk/bib-a/gestion/caracteristiques/",
        {"name_fr": "prise ÉLECTRIQUE", "name_en": "Plug"},
    )
    assert response.status_code == 400
    assert response.context["feature_form"].non_field_errors()
    assert Feature.objects.count() == 1


@pytest.mark.parametrize("bad", [{"name_fr": ""}, {"name_en": " "}, {"name_fr": "x" * 81}])
def test_a_feature_needs_both_names(a, manager, bad):
    data = {"name_fr": "Calme", "name_en": "Quiet"} | bad
    response = signed_in(manager).post("/desk/bib-a/gestion/caracteristiques/", data)
    assert response.status_code == 400
    assert response.context["feature_form"].errors
    assert not Feature.objects.exists()


def test_two_features_with_close_names_get_distinct_codes(a, manager):
    client = signed_in(manager)
    client.post("/desk/bib-a/gestion/caracteristiques/", {"name_fr": "Lampe", "name_en": "Lamp"})
    client.post(
        "/desk/bib-a/gestion/caracteristiques/", {"name_fr": "Lampe LED", "name_en": "lamp!"}
    )
    assert sorted(Feature.objects.values_list("code", flat=True)) == ["lamp", "lamp-2"]


def test_a_feature_used_only_here_is_renamed_then_removed(a, place_a, manager, power):
    place_a.features.add(power)
    client = signed_in(manager)
    prefix = f"feature-{power.pk}"
    response = client.post(
        f"/desk/bib-a/gestion/caracteristiques/{power.pk}/",
        {f"{prefix}-name_fr": "Prise 230 V", f"{prefix}-name_en": "230 V socket"},
    )
    assert response.status_code == 302
    power.refresh_from_db()
    assert (power.name_fr, power.name_en, power.code) == ("Prise 230 V", "230 V socket", "power")
    renamed = AuditEntry.objects.get(action="feature.renamed")
    assert renamed.data["old"]["name_fr"] == "Prise électrique"

    response = client.post(f"/desk/bib-a/gestion/caracteristiques/{power.pk}/supprimer/")
    assert response.status_code == 302
    assert not Feature.objects.exists()
    assert not place_a.features.exists()
    assert AuditEntry.objects.get(action="feature.removed").data["places"] == 1


def test_renaming_to_an_empty_or_taken_name_shows_the_error_by_that_feature(a, manager, power):
    other = Feature.objects.create(code="window", name_fr="Fenêtre", name_en="Window")
    prefix = f"feature-{other.pk}"
    client = signed_in(manager)
    url = f"/desk/bib-a/gestion/caracteristiques/{other.pk}/"
    for names in ({"name_fr": "Prise électrique", "name_en": "W"}, {"name_fr": "", "name_en": "W"}):
        response = client.post(url, {f"{prefix}-{k}": v for k, v in names.items()})
        assert response.status_code == 400
        forms = {entry.feature.pk: form for entry, form in response.context["catalogue"]}
        assert forms[other.pk].errors
        assert not forms[power.pk].errors
    other.refresh_from_db()
    assert other.name_fr == "Fenêtre"


def test_a_feature_that_another_establishment_uses_is_not_a_managers_to_change(
    a, place_a, place_b, manager, superuser, power
):
    place_a.features.add(power)
    place_b.features.add(power)
    client = signed_in(manager)
    page = client.get("/desk/bib-a/gestion/")
    (row,) = [(entry, form) for entry, form in page.context["catalogue"]]
    assert (row[0].here, row[0].elsewhere, row[1]) == (1, 1, None)
    assert f"/gestion/caracteristiques/{power.pk}/supprimer/" not in page.content.decode()

    prefix = f"feature-{power.pk}"
    names = {f"{prefix}-name_fr": "Prise A", f"{prefix}-name_en": "Socket A"}
    response = client.post(f"/desk/bib-a/gestion/caracteristiques/{power.pk}/", names)
    assert levels(response) == ["error"]
    response = client.post(f"/desk/bib-a/gestion/caracteristiques/{power.pk}/supprimer/")
    assert levels(response) == ["error", "error"]  # both refusals, none read yet
    power.refresh_from_db()
    assert power.name_fr == "Prise électrique"
    assert set(power.resource_set.all()) == {place_a, place_b}
    assert not AuditEntry.objects.filter(action__startswith="feature.").exists()

    # An administrator may: the catalogue is theirs.
    response = signed_in(superuser).post(f"/desk/bib-a/gestion/caracteristiques/{power.pk}/", names)
    assert response.status_code == 302
    power.refresh_from_db()
    assert power.name_fr == "Prise A"


def test_a_manager_attaches_a_shared_feature_to_their_own_places(
    a, place_a, place_b, manager, power
):
    place_b.features.add(power)
    signed_in(manager).post(
        f"/desk/bib-a/gestion/places/{place_a.pk}/", place_data(place_a, features=[power.pk])
    )
    assert list(place_a.features.all()) == [power]


def place_data(place, **overrides):
    return {
        "label": place.label,
        "area": place.area_id,
        "kind": place.kind,
        "capacity": place.capacity,
        "position": place.position,
        "is_active": "on" if place.is_active else "",
        "features": [f.pk for f in place.features.all()],
    } | overrides


def test_a_manager_edits_one_place_and_its_reservations_stay(a, place_a, manager, power):
    reservation = book_confirmed(place_a)
    old_label = place_a.label
    other_area = Area.objects.create(establishment=a, name="Salle de groupe", position=9)
    client = signed_in(manager)
    assert client.get(f"/desk/bib-a/gestion/places/{place_a.pk}/").status_code == 200
    response = client.post(
        f"/desk/bib-a/gestion/places/{place_a.pk}/",
        place_data(
            place_a,
            label="Salle Curie",
            area=other_area.pk,
            kind="room",
            capacity=6,
            position=3,
            is_active="",
            features=[power.pk],
        ),
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"/desk/bib-a/gestion/#place-{place_a.pk}")
    place_a.refresh_from_db()
    assert (place_a.label, place_a.area, place_a.kind) == ("Salle Curie", other_area, "room")
    assert (place_a.capacity, place_a.position, place_a.is_active) == (6, 3, False)
    assert place_a.establishment == a
    assert list(place_a.features.all()) == [power]
    entry = AuditEntry.objects.get(action="place.updated")
    assert entry.actor == manager
    assert entry.data["label"] == {"old": old_label, "new": "Salle Curie"}
    assert entry.data["features"] == {"old": [], "new": ["power"]}
    assert set(entry.data) >= {"area", "kind", "capacity", "position", "is_active"}
    reservation.refresh_from_db()
    assert reservation.state == ReservationState.CONFIRMED


def test_saving_a_place_unchanged_writes_no_audit_entry(place_a, manager):
    response = signed_in(manager).post(
        f"/desk/bib-a/gestion/places/{place_a.pk}/", place_data(place_a)
    )
    assert response.status_code == 302
    assert not AuditEntry.objects.filter(action="place.updated").exists()


def test_bad_place_edits_come_back_with_the_error_by_the_field(a, place_a, place_b, manager):
    Resource.objects.create(area=place_a.area, label="Place 99")
    original = place_a.label
    client = signed_in(manager)
    for bad, field in [
        ({"label": "Place 99"}, "label"),
        ({"label": "  "}, "label"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": 101}, "capacity"),
        ({"position": -1}, "position"),
        ({"area": place_b.area_id}, "area"),
        ({"kind": "sofa"}, "kind"),
        ({"features": [999999]}, "features"),
    ]:
        response = client.post(
            f"/desk/bib-a/gestion/places/{place_a.pk}/", place_data(place_a, **bad)
        )
        assert response.status_code == 400, bad
        assert field in response.context["form"].errors, bad
        assert f'id="id_{field}_error"' in response.content.decode(), bad
    place_a.refresh_from_db()
    assert (place_a.label, place_a.area.establishment) == (original, a)
    assert not AuditEntry.objects.filter(action="place.updated").exists()


def test_a_feature_removed_meanwhile_is_refused_with_its_code_not_a_crash(place_a, manager, power):
    from strapontin.core.errors import DomainError
    from strapontin.desk import management_services

    Feature.objects.filter(pk=power.pk).delete()  # another manager removed it meanwhile
    with pytest.raises(DomainError) as refused:
        management_services.place_update(place=place_a, values={}, features=[power], user=manager)
    assert refused.value.code == "feature_gone"
    assert not place_a.features.exists()
