"""Managers choose their establishment's desk team; staff then sign in with a password."""

from django.contrib.auth import get_user_model
from django.test import Client

from strapontin.core.audit import AuditEntry
from strapontin.desk.models import StaffRole
from tests.desk.conftest import signed_in
from tests.factories import StaffRoleFactory, UserFactory


def test_a_manager_creates_a_desk_agent_who_signs_in_and_sees_only_this_desk(a, b, manager):
    response = signed_in(manager).post(
        "/desk/bib-a/gestion/equipe/",
        {"username": "nouvel-agent", "role": "desk", "password": "un mot de passe long"},
    )
    assert response.status_code == 302
    role = StaffRole.objects.get(user__username="nouvel-agent")
    assert (role.establishment, role.role, role.user.is_staff) == (a, "desk", True)
    assert AuditEntry.objects.filter(action="staff.role_given", actor=manager).exists()
    client = Client()
    assert client.login(username="nouvel-agent", password="un mot de passe long")
    assert client.get("/desk/bib-a/").status_code == 200
    assert client.get("/desk/bib-b/").status_code == 403
    assert client.get("/desk/bib-a/gestion/").status_code == 403


def test_an_existing_account_gets_a_role_and_keeps_its_password(a, manager):
    colleague = UserFactory(username="collegue")
    colleague.set_password("son propre secret")
    colleague.save()
    signed_in(manager).post(
        "/desk/bib-a/gestion/equipe/",
        {"username": "collegue", "role": "manager", "password": "tentative de vol"},
    )
    colleague.refresh_from_db()
    assert colleague.check_password("son propre secret")
    assert StaffRole.objects.get(user=colleague).role == "manager"


def test_an_unknown_name_without_password_or_a_short_password_is_a_form_error(a, manager):
    client = signed_in(manager)
    unknown = client.post("/desk/bib-a/gestion/equipe/", {"username": "x", "role": "desk"})
    short = client.post(
        "/desk/bib-a/gestion/equipe/", {"username": "y", "role": "desk", "password": "court"}
    )
    assert (unknown.status_code, short.status_code) == (400, 400)
    assert not get_user_model().objects.filter(username__in=["x", "y"]).exists()


def test_a_manager_removes_a_member_but_not_themselves_nor_one_of_another_establishment(
    a, b, agent, manager
):
    client = signed_in(manager)
    own = StaffRole.objects.get(user=manager)
    theirs = StaffRole.objects.get(user=agent)
    of_b = StaffRoleFactory(establishment=b, role="desk")
    assert client.post(f"/desk/bib-a/gestion/equipe/{of_b.pk}/retirer/").status_code == 404
    client.post(f"/desk/bib-a/gestion/equipe/{own.pk}/retirer/")
    assert StaffRole.objects.filter(pk=own.pk).exists()
    client.post(f"/desk/bib-a/gestion/equipe/{theirs.pk}/retirer/")
    assert not StaffRole.objects.filter(pk=theirs.pk).exists()
    response = signed_in(agent).post(f"/desk/bib-a/gestion/equipe/{own.pk}/retirer/")
    assert response.status_code == 403
