"""Staff endpoints with a per-user token: the day's reservations, validating presence and
cancelling with a reason, each scoped to the establishments of the user's roles."""

import re
from io import StringIO

import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from strapontin.api.credentials import hash_secret
from strapontin.api.models import StaffToken
from strapontin.core.audit import entries_for
from strapontin.reservations.models import CheckinMethod, ReservationState
from tests.api.conftest import Api, error_of, last_mail_to, reservation
from tests.conftest import paris
from tests.factories import ResourceFactory, UserFactory


def _booked(api: Api, place, email: str = "alice@example.org") -> str:
    return api.book(place, email=email).json()["reservation"]["reference"]


def test_a_desk_agent_reads_the_day_of_their_establishment(api: Api, place, desk_agent_token):
    ref = _booked(api, place)
    day = api.get(
        f"/staff/establishments/{place.establishment.slug}/reservations",
        token=desk_agent_token,
        date="2026-03-03",
    )
    assert day.status_code == 200
    body = day.json()
    assert body["expected"] == 1
    assert body["present"] == 0
    row = body["reservations"][0]
    assert row["reference"] == ref
    assert row["email"] == "alice@example.org"
    assert row["state"] == "pending"
    assert row["can_cancel"]
    search = api.get(
        f"/staff/establishments/{place.establishment.slug}/reservations",
        token=desk_agent_token,
        date="2026-03-03",
        q="nobody",
    )
    assert search.json()["reservations"] == []


def test_staff_are_confined_to_their_establishments(api: Api, place, desk_agent_token):
    elsewhere = ResourceFactory()
    ref = _booked(api, elsewhere)
    slug = elsewhere.establishment.slug
    day = api.get(f"/staff/establishments/{slug}/reservations", token=desk_agent_token)
    assert day.status_code == 403
    assert error_of(day) == "forbidden"
    checked = api.post(
        f"/staff/establishments/{slug}/reservations/{ref}/check-in", token=desk_agent_token
    )
    assert checked.status_code == 403
    cancel = api.post(
        f"/staff/establishments/{slug}/reservations/{ref}/cancel",
        {"reason": "Fermeture"},
        token=desk_agent_token,
    )
    assert cancel.status_code == 403
    assert reservation(ref).state == ReservationState.PENDING
    # Their own establishment does not reach another's reservation either.
    own = place.establishment.slug
    assert (
        api.post(
            f"/staff/establishments/{own}/reservations/{ref}/check-in", token=desk_agent_token
        ).status_code
        == 404
    )
    assert (
        api.get("/staff/establishments/nowhere/reservations", token=desk_agent_token).status_code
        == 404
    )
    listed = api.get("/staff/establishments", token=desk_agent_token).json()
    assert listed == [{"slug": own, "name": place.establishment.name, "role": "desk"}]


def test_a_superuser_reaches_every_establishment(api: Api, place, superuser_token):
    ref = _booked(api, place)
    slug = place.establishment.slug
    assert (
        api.get(f"/staff/establishments/{slug}/reservations", token=superuser_token).status_code
        == 200
    )
    assert api.get("/staff/establishments", token=superuser_token).json()[0]["role"] == "manager"
    # A pending reservation is validated at the desk only once confirmed (the same rule).
    answer = api.post(
        f"/staff/establishments/{slug}/reservations/{ref}/check-in", token=superuser_token
    )
    assert error_of(answer) == "not_confirmed"


def test_the_desk_validates_presence(api: Api, place, desk_agent_token):
    patron_token = api.sign_in()
    ref = api.book(place, token=patron_token).json()["reservation"]["reference"]
    slug = place.establishment.slug
    with time_machine.travel(paris(2026, 3, 3, 9, 50), tick=False):
        answer = api.post(
            f"/staff/establishments/{slug}/reservations/{ref}/check-in", token=desk_agent_token
        )
    assert answer.status_code == 200
    assert answer.json()["state"] == "checked_in"
    assert reservation(ref).checkin_method == CheckinMethod.DESK
    entry = entries_for(reservation(ref)).filter(action="reservation.checked_in").get()
    assert entry.actor is not None
    assert entry.actor.api_tokens.exists()


def test_the_desk_cancels_with_a_reason_the_patron_reads(api: Api, place, desk_agent_token):
    ref = _booked(api, place)
    slug = place.establishment.slug
    blank = api.post(
        f"/staff/establishments/{slug}/reservations/{ref}/cancel",
        {"reason": "   "},
        token=desk_agent_token,
    )
    assert blank.status_code == 400
    assert error_of(blank) == "reason_required"
    missing = api.post(
        f"/staff/establishments/{slug}/reservations/{ref}/cancel", {}, token=desk_agent_token
    )
    assert missing.status_code == 422
    assert error_of(missing) == "invalid_input"
    mail.outbox.clear()
    answer = api.post(
        f"/staff/establishments/{slug}/reservations/{ref}/cancel",
        {"reason": "Fermeture exceptionnelle"},
        token=desk_agent_token,
    )
    assert answer.status_code == 200
    assert answer.json()["cancelled_by"] == "staff"
    assert answer.json()["cancel_reason"] == "Fermeture exceptionnelle"
    assert "Fermeture exceptionnelle" in last_mail_to("alice@example.org")


def test_staff_endpoints_need_a_live_token_of_an_active_user(api: Api, place, desk_agent_token):
    slug = place.establishment.slug
    url = f"/staff/establishments/{slug}/reservations"
    assert error_of(api.get(url)) == "unauthorized"
    assert api.get(url, token="x" * 43).status_code == 401
    patron_token = api.sign_in()
    assert api.get(url, token=patron_token).status_code == 401  # a patron is not staff
    token = StaffToken.objects.get(token_hash=hash_secret(desk_agent_token))
    token.user.is_active = False
    token.user.save()
    assert api.get(url, token=desk_agent_token).status_code == 401
    token.user.is_active = True
    token.user.save()
    assert api.get(url, token=desk_agent_token).status_code == 200
    token.revoked_at = token.created_at
    token.save()
    assert api.get(url, token=desk_agent_token).status_code == 401


def test_the_management_command_prints_a_token_once_and_stores_its_hash(api: Api, place):
    user = UserFactory(username="agent", is_superuser=True)
    out = StringIO()
    call_command("create_api_token", "agent", "--name", "Borne accueil", stdout=out)
    raw = out.getvalue().strip()
    stored = StaffToken.objects.get(user=user)
    assert stored.name == "Borne accueil"
    assert stored.token_hash == hash_secret(raw)
    assert raw not in stored.token_hash
    assert stored.prefix == raw[:6]
    assert api.get("/staff/establishments", token=raw).status_code == 200


def test_the_admin_creates_a_token_and_shows_it_once(client, clock, place):
    admin = UserFactory(username="admin", is_superuser=True)
    agent = UserFactory(username="agent")
    client.force_login(admin)
    response = client.post(
        "/admin/api/stafftoken/add/", {"user": agent.pk, "name": "Tablette"}, follow=True
    )
    assert response.status_code == 200
    shown = re.search(r"agent\s?: ([\w-]{40,})", response.content.decode())
    assert shown, response.content.decode()[:2000]
    stored = StaffToken.objects.get(user=agent)
    assert stored.token_hash == hash_secret(shown.group(1))
    revoke = client.post(
        "/admin/api/stafftoken/",
        {"action": "revoke", "_selected_action": [stored.pk]},
        follow=True,
    )
    assert revoke.status_code == 200
    stored.refresh_from_db()
    assert stored.revoked_at is not None


def test_the_day_costs_the_same_queries_for_one_reservation_or_many(
    api: Api, place, desk_agent_token
):
    url = f"/staff/establishments/{place.establishment.slug}/reservations"
    _booked(api, place)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(url, token=desk_agent_token, date="2026-03-03").status_code == 200
        return len(captured)

    queries()  # the first use of a token records it
    one = queries()
    for n in range(4):
        _booked(api, ResourceFactory(area=place.area), email=f"p{n}@example.org")
    assert queries() == one


def test_a_place_held_for_the_waitlist_reads_as_offered_in_the_day(
    api: Api, place, desk_agent_token
):
    from datetime import timedelta

    from strapontin.reservations import services, waitlist

    ref = _booked(api, place)
    waitlist.waitlist_request_create(
        establishment=place.establishment,
        email="bob@example.org",
        start=paris(2026, 3, 3, 10, 0),
        end=paris(2026, 3, 3, 10, 0) + timedelta(hours=1),
    )
    services.reservation_cancel_by_patron(reservation=reservation(ref))
    day = api.get(
        f"/staff/establishments/{place.establishment.slug}/reservations",
        token=desk_agent_token,
        date="2026-03-03",
    )
    assert day.status_code == 200
    states = {row["email"]: row["state"] for row in day.json()["reservations"]}
    assert states == {"alice@example.org": "cancelled", "bob@example.org": "offered"}
