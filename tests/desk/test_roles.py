"""Roles per establishment: a member of A sees nothing of B; managers can do what desk agents
do, and more; superusers see everything; anonymous visitors are sent to the staff sign-in."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import Client

from strapontin.config.management.commands import demo
from strapontin.core.clock import now
from strapontin.desk import permissions
from strapontin.desk.models import Role, StaffRole
from strapontin.reservations.models import Suspension
from strapontin.venues.models import Feature
from tests.desk.conftest import book_confirmed, signed_in
from tests.factories import UserFactory

pytestmark = pytest.mark.usefixtures("clock")


def test_staff_see_only_the_establishments_they_have_a_role_in(a, b, agent, manager, superuser):
    assert list(permissions.staff_establishments(agent)) == [a]
    assert list(permissions.staff_establishments(manager)) == [a]
    assert set(permissions.staff_establishments(superuser)) == {a, b}
    assert not permissions.staff_establishments(UserFactory(username="nobody")).exists()
    assert not permissions.staff_establishments(AnonymousUser()).exists()


def test_a_manager_can_do_what_a_desk_agent_does_and_more(a, agent, manager):
    assert permissions.require_role(agent, a, Role.DESK) == Role.DESK
    with pytest.raises(PermissionDenied):
        permissions.require_role(agent, a, Role.MANAGER)
    assert permissions.require_role(manager, a, Role.DESK) == Role.MANAGER
    assert permissions.require_role(manager, a, Role.MANAGER) == Role.MANAGER


def test_a_role_at_one_establishment_gives_nothing_at_another(b, agent, manager):
    for user in (agent, manager):
        with pytest.raises(PermissionDenied):
            permissions.require_role(user, b, Role.DESK)


def test_superusers_are_managers_everywhere_and_inactive_accounts_nowhere(a, b, superuser):
    assert permissions.require_role(superuser, b, Role.MANAGER) == Role.MANAGER
    superuser.is_active = False
    superuser.save()
    with pytest.raises(PermissionDenied):
        permissions.require_role(superuser, a, Role.DESK)
    with pytest.raises(PermissionDenied):
        permissions.require_role(AnonymousUser(), a, Role.DESK)


def test_one_role_per_user_and_establishment(a, agent):
    with pytest.raises(IntegrityError), transaction.atomic():
        StaffRole.objects.create(user=agent, establishment=a, role=Role.MANAGER)


def back_office_urls(
    slug: str,
    reference: str,
    suspension_pk: int,
    area: int = 1,
    place: int = 1,
    hours: int = 1,
    feature: int = 1,
) -> dict[str, tuple[str, str]]:
    """Every back-office URL of one establishment: name → (method, url)."""
    return {
        "day": ("get", f"/desk/{slug}/"),
        "day_other_date": ("get", f"/desk/{slug}/?date=2026-03-03"),
        "poster": ("get", f"/desk/{slug}/affiche/"),
        "check_in": ("post", f"/desk/{slug}/reservations/{reference}/valider/"),
        "cancel": ("post", f"/desk/{slug}/reservations/{reference}/annuler/"),
        "lift": ("post", f"/desk/{slug}/suspensions/{suspension_pk}/lever/"),
        "kiosk_link": ("post", f"/desk/{slug}/kiosque/"),
        "code_confirm": ("get", f"/desk/{slug}/code/nouveau/"),
        "code": ("post", f"/desk/{slug}/code/nouveau/"),
        "mode": ("post", f"/desk/{slug}/code/mode/"),
        "walk_in": ("post", f"/desk/{slug}/sur-place/"),
        "day_htmx": ("htmx", f"/desk/{slug}/?state=confirmed"),
        "closures": ("get", f"/desk/{slug}/fermetures/"),
        "closures_post": ("post", f"/desk/{slug}/fermetures/"),
        "statistics": ("get", f"/desk/{slug}/statistiques/?from=2026-02-01&to=2026-03-02"),
        "statistics_csv": ("get", f"/desk/{slug}/statistiques.csv"),
        "journal": ("get", f"/desk/{slug}/journal/"),
        "management": ("get", f"/desk/{slug}/gestion/"),
        "area_create": ("post", f"/desk/{slug}/gestion/zones/"),
        "area_rename": ("post", f"/desk/{slug}/gestion/zones/{area}/renommer/"),
        "area_move": ("post", f"/desk/{slug}/gestion/zones/{area}/deplacer/"),
        "places_bulk": ("post", f"/desk/{slug}/gestion/places/"),
        "place_active": ("post", f"/desk/{slug}/gestion/places/{place}/active/"),
        "place_edit": ("get", f"/desk/{slug}/gestion/places/{place}/"),
        "place_edit_post": ("post", f"/desk/{slug}/gestion/places/{place}/"),
        "feature_create": ("post", f"/desk/{slug}/gestion/caracteristiques/"),
        "feature_rename": ("post", f"/desk/{slug}/gestion/caracteristiques/{feature}/"),
        "feature_remove": ("post", f"/desk/{slug}/gestion/caracteristiques/{feature}/supprimer/"),
        "hours_add": ("post", f"/desk/{slug}/gestion/horaires/"),
        "hours_remove": ("post", f"/desk/{slug}/gestion/horaires/{hours}/supprimer/"),
        "policy": ("post", f"/desk/{slug}/gestion/regles/"),
        "staff_add": ("post", f"/desk/{slug}/gestion/equipe/"),
    }


MANAGER_ONLY = {
    "kiosk_link",
    "code_confirm",
    "code",
    "mode",
    "closures",
    "closures_post",
    "statistics",
    "statistics_csv",
    "journal",
    "management",
    "area_create",
    "area_rename",
    "area_move",
    "places_bulk",
    "place_active",
    "place_edit",
    "place_edit_post",
    "feature_create",
    "feature_rename",
    "feature_remove",
    "hours_add",
    "hours_remove",
    "policy",
    "staff_add",
}
#: Posted without their fields here: allowed users get the form back with its errors.
FORM_POSTS = {
    "walk_in",
    "closures_post",
    "area_create",
    "places_bulk",
    "place_edit_post",
    "feature_create",
    "feature_rename",
    "hours_add",
    "policy",
    "staff_add",
}


@pytest.fixture
def urls_of(place_a, place_b):
    """The back-office URLs of A and of B, each with a reservation, a suspension and a
    feature (used by its place only) of its own."""

    def build(place):
        reservation = book_confirmed(place, email=f"p@{place.establishment.slug}.org")
        feature = Feature.objects.create(
            code=f"f-{place.establishment.slug}", name_fr=place.establishment.slug, name_en="x"
        )
        place.features.add(feature)
        suspension = Suspension.objects.create(
            patron=reservation.patron,
            establishment=place.establishment,
            starts_at=now(),
            ends_at=now() + timedelta(days=7),
            no_shows=3,
        )
        establishment = place.establishment
        return back_office_urls(
            establishment.slug,
            reservation.reference,
            suspension.pk,
            area=place.area.pk,
            place=place.pk,
            hours=establishment.opening_hours.first().pk,
            feature=feature.pk,
        )

    return {"a": build(place_a), "b": build(place_b)}


def call(client: Client, method: str, url: str):
    if method == "htmx":
        return client.get(url, headers={"HX-Request": "true"})
    return client.get(url) if method == "get" else client.post(url, {"checkin_mode": "both"})


@pytest.mark.parametrize("name", sorted(back_office_urls("x", "R", 1)))
def test_each_role_reaches_exactly_what_it_may(name, urls_of, agent, manager):
    for user, establishment, allowed in [
        (agent, "a", name not in MANAGER_ONLY),
        (manager, "a", True),
        (agent, "b", False),
        (manager, "b", False),
    ]:
        method, url = urls_of[establishment][name]
        status = call(signed_in(user), method, url).status_code
        if allowed:
            expected = (400,) if name in FORM_POSTS else (200, 302)
            assert status in expected, (user.username, url, status)
        else:
            assert status == 403, (user.username, url, status)


@pytest.mark.parametrize("name", sorted(back_office_urls("x", "R", 1)))
def test_anonymous_visitors_are_sent_to_the_staff_sign_in(name, urls_of):
    method, url = urls_of["a"][name]
    response = call(Client(), method, url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")


def test_a_reservation_of_b_cannot_be_reached_through_a(urls_of, agent):
    client = signed_in(agent)
    reference_of_b = urls_of["b"]["check_in"][1].split("/")[4]
    suspension_of_b = urls_of["b"]["lift"][1].split("/")[4]
    assert client.post(f"/desk/bib-a/reservations/{reference_of_b}/valider/").status_code == 404
    assert client.post(f"/desk/bib-a/reservations/{reference_of_b}/annuler/").status_code == 404
    assert client.post(f"/desk/bib-a/suspensions/{suspension_of_b}/lever/").status_code == 404


def test_objects_of_b_cannot_be_managed_through_a(urls_of, place_b, manager):
    """A manager of A naming B's area, place or hours in A's addresses finds nothing."""
    client = signed_in(manager)
    hours_of_b = place_b.establishment.opening_hours.first().pk
    for url in (
        f"/desk/bib-a/gestion/zones/{place_b.area.pk}/renommer/",
        f"/desk/bib-a/gestion/zones/{place_b.area.pk}/deplacer/",
        f"/desk/bib-a/gestion/places/{place_b.pk}/active/",
        f"/desk/bib-a/gestion/places/{place_b.pk}/",
        f"/desk/bib-a/gestion/horaires/{hours_of_b}/supprimer/",
    ):
        data = {"name": "Pris", "active": "0", "label": "Pris", "area": place_b.area.pk}
        assert client.post(url, data).status_code == 404, url
    assert client.get(f"/desk/bib-a/gestion/places/{place_b.pk}/").status_code == 404
    place_b.refresh_from_db()
    assert place_b.is_active
    assert place_b.label != "Pris"


def test_desk_home_lists_only_the_users_establishments(a, b, agent, superuser):
    html = signed_in(agent).get("/desk/").content.decode()
    assert "Bib A" in html
    assert "Bib B" not in html
    html = signed_in(superuser).get("/desk/").content.decode()
    assert "Bib A" in html
    assert "Bib B" in html


def test_staff_without_any_role_are_told_to_ask_for_one(a):
    client = signed_in(UserFactory(username="newcomer"))
    assert client.get("/desk/").status_code == 200
    assert client.get("/desk/bib-a/").status_code == 403


def test_an_unknown_establishment_is_a_404(agent):
    assert signed_in(agent).get("/desk/nowhere/").status_code == 404


def test_the_demo_has_a_desk_agent_of_demo_bu_only(db):
    call_command("seed_demo")
    demo.Command()._desk_agent()
    demo.Command()._desk_agent()  # idempotent
    role = StaffRole.objects.get(user__username=demo.DESK_USER)
    assert (role.establishment.slug, role.role) == ("demo-bu", Role.DESK)
    assert role.user.is_staff
    assert not role.user.is_superuser
    assert role.user.check_password(demo.DESK_PASSWORD)
    assert [e.slug for e in permissions.staff_establishments(role.user)] == ["demo-bu"]


def test_giving_a_role_in_the_admin_lets_the_user_sign_in_as_staff(a, superuser):
    newcomer = UserFactory(username="newcomer", is_staff=False)
    client = signed_in(superuser)
    assert client.get("/admin/desk/staffrole/add/").status_code == 200
    response = client.post(
        "/admin/desk/staffrole/add/",
        {"user": newcomer.pk, "establishment": a.pk, "role": "manager"},
    )
    assert response.status_code == 302
    newcomer.refresh_from_db()
    assert newcomer.is_staff
    assert permissions.role_of(newcomer, a) == Role.MANAGER
