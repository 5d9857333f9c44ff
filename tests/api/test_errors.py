"""Every error is JSON ``{"code", "message"}`` with the right status; bad input is a 4xx,
never a 500; booking and check-in are throttled per client."""

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from strapontin.api import reservations as api_reservations
from strapontin.api.models import PatronToken
from strapontin.core.models import ThrottleCounter
from tests.api.conftest import TUESDAY_10, V1, Api, error_of
from tests.conftest import paris


def test_unknown_things_are_404_in_json(api: Api, place):
    assert error_of(api.get("/establishments/nowhere")) == "not_found"
    assert api.get("/establishments/nowhere").status_code == 404
    missing_place = api.post(
        "/reservations",
        {
            "place": 999999,
            "start": TUESDAY_10.isoformat(),
            "duration": 60,
            "email": "a@example.org",
        },
    )
    assert missing_place.status_code == 404
    assert error_of(missing_place) == "not_found"
    unknown_path = api.client.get(f"{V1}/no/such/thing")
    assert unknown_path.status_code == 404
    assert error_of(unknown_path) == "not_found"
    assert error_of(api.post("/email-links/confirm", {"token": "A" * 32})) == "token_invalid"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"place": "one", "start": "2026-03-03T10:00:00+01:00", "duration": 60},
        {"place": 2**70, "start": "2026-03-03T10:00:00+01:00", "duration": 60},
        {"place": 0, "start": "2026-03-03T10:00:00+01:00", "duration": 60},
        {"place": 1, "start": "2026-03-03T10:00:00", "duration": 60},  # no offset
        {"place": 1, "start": "mardi", "duration": 60},
        {"place": 1, "start": "2026-03-03T10:00:00+01:00", "duration": 10**9},
        {"place": 1, "start": "2026-03-03T10:00:00+01:00", "duration": 60, "email": "a" * 300},
        {"place": 1, "start": "2026-03-03T10:00:00+01:00", "duration": 60, "language": "de"},
    ],
)
def test_invalid_input_is_422_invalid_input_with_the_fields(api: Api, place, body):
    answer = api.post("/reservations", body)
    assert answer.status_code == 422
    assert error_of(answer) == "invalid_input"
    assert answer.json()["errors"]
    assert all(e["loc"][0] == "body" for e in answer.json()["errors"])


def test_dates_at_the_edges_of_the_calendar_are_refused_cleanly(api: Api, place):
    for start, code in [
        ("9999-12-31T23:30:00+00:00", "beyond_horizon"),
        ("0001-01-01T00:00:00+05:00", "slot_in_past"),
    ]:
        answer = api.post(
            "/reservations",
            {"place": place.pk, "start": start, "duration": 1440, "email": "a@example.org"},
        )
        assert answer.status_code == 400
        assert error_of(answer) == code
    slug = place.establishment.slug
    for day in ("9999-12-31", "0001-01-01"):
        assert (
            error_of(api.get(f"/establishments/{slug}/availability", date=day))
            == "date_out_of_range"
        )


def test_a_body_that_is_not_json_is_400(api: Api):
    answer = api.client.post(f"{V1}/reservations", "{not json", content_type="application/json")
    assert answer.status_code == 400
    assert error_of(answer) == "malformed_request"


def test_text_no_database_can_store_is_refused_before_it_reaches_one(
    api: Api, place, superuser_token
):
    slug = place.establishment.slug
    answer = api.post(
        f"/staff/establishments/{slug}/reservations/ABCDEFGH/cancel",
        {"reason": "a\x00b"},
        token=superuser_token,
    )
    assert answer.status_code == 422
    weird = api.get(f"/staff/establishments/{slug}/reservations", token=superuser_token, q="\x00")
    assert weird.status_code == 422
    token = api.sign_in()
    code = api.post("/reservations/ABCDEFGH/check-in", {"code": "ÉÉÉ"}, token=token)
    assert code.status_code == 422
    features = api.get(f"/establishments/{slug}/availability", feature="a\x00")
    assert features.status_code == 422


def test_tokens_are_needed_where_the_schema_says(api: Api, place):
    for method, path in [
        ("get", "/reservations/ABCDEFGH"),
        ("post", "/reservations/ABCDEFGH/cancel"),
        ("post", "/reservations/ABCDEFGH/leave"),
        ("get", "/me"),
        ("get", "/me/reservations"),
        ("get", "/staff/establishments"),
    ]:
        answer = getattr(api, method)(path)
        assert answer.status_code == 401, path
        assert error_of(answer) == "unauthorized", path


def test_booking_is_throttled_per_client_with_retry_after(api: Api, place, monkeypatch):
    monkeypatch.setattr(api_reservations, "BOOKINGS_PER_CLIENT", 2)
    assert api.book(place).status_code == 201
    assert api.book(place).status_code == 409
    refused = api.book(place)
    assert refused.status_code == 429
    assert error_of(refused) == "too_many_requests"
    assert 0 < int(refused["Retry-After"]) <= 600
    with time_machine.travel(paris(2026, 3, 2, 9, 10), tick=False):
        assert api.book(place, start=paris(2026, 3, 3, 14, 0)).status_code == 201


def write_locks(statements: list[dict[str, str]]) -> int:
    """How many times SQLite's write lock was taken: once per transaction, and once per
    statement that writes outside one."""
    taken, inside = 0, False
    for statement in statements:
        sql = statement["sql"].lstrip().upper()
        if sql.startswith("BEGIN"):
            taken, inside = taken + 1, True
        elif sql.startswith(("COMMIT", "ROLLBACK")) and not sql.startswith("ROLLBACK TO"):
            inside = False
        elif sql.startswith(("INSERT", "UPDATE", "DELETE")) and not inside:
            taken += 1
    return taken


@pytest.mark.django_db(transaction=True)
def test_a_booking_counts_as_it_commits_and_sqlite_locks_for_writing_twice(
    api: Api, place, monkeypatch, settings
):
    monkeypatch.setattr(api_reservations, "BOOKINGS_PER_CLIENT", 2)
    token = api.sign_in()
    settings.OUTBOX_SEND_AFTER_COMMIT = False  # the worker's job, as in production
    with CaptureQueriesContext(connection) as statements:
        assert api.book(place, email=None, token=token).status_code == 201
    if connection.vendor == "sqlite":  # PostgreSQL's go through the pipeline, not counted here
        # The count and the token's last use, then the booking.
        assert write_locks(statements.captured_queries) == 2
    assert PatronToken.objects.get().last_used_at is not None
    refused = api.book(place, email=None, token=token)
    assert error_of(refused) == "slot_taken"
    # Committed though the booking was not.
    assert ThrottleCounter.objects.get(key__startswith="api.booking:").count == 2
    assert api.book(place, email=None, token=token).status_code == 429


def test_check_in_is_throttled_and_wrong_codes_more_so(api: Api, place, monkeypatch):
    monkeypatch.setattr(api_reservations, "WRONG_CODES_PER_CLIENT", 2)
    token = api.sign_in()
    ref = api.book(place, token=token).json()["reservation"]["reference"]
    with time_machine.travel(paris(2026, 3, 3, 9, 50), tick=False):
        for _ in range(2):
            answer = api.post(f"/reservations/{ref}/check-in", {"code": "WRONG1"}, token=token)
            assert error_of(answer) == "invalid_code"
        refused = api.post(f"/reservations/{ref}/check-in", {"code": "WRONG1"}, token=token)
        assert refused.status_code == 429
        assert refused.has_header("Retry-After")
        monkeypatch.setattr(api_reservations, "CHECKINS_PER_CLIENT", 3)
        right = api.post(
            f"/reservations/{ref}/check-in", {"code": place.establishment.checkin_code}, token=token
        )
        assert right.status_code == 429


def test_the_openapi_document_and_the_docs_page_are_served_from_here(api: Api):
    schema = api.client.get(f"{V1}/openapi.json").json()
    assert schema["info"]["title"] == "Strapontin"
    assert schema["info"]["version"] == "1"
    assert set(schema["components"]["securitySchemes"]) == {
        "ReservationTokenAuth",
        "PatronTokenAuth",
        "StaffTokenAuth",
    }
    docs = api.client.get(f"{V1}/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert "https://" not in html
    assert "script-src 'self'" in docs["Content-Security-Policy"]
    assert api.client.get("/static/ninja/swagger-ui-bundle.js").status_code == 200


def test_answers_are_never_cached(api: Api, place):
    assert api.get("/establishments")["Cache-Control"] == "no-store"
    assert api.get("/me")["Cache-Control"] == "no-store"


def test_a_code_with_accents_is_a_wrong_code_not_a_crash(api: Api, place):
    """venues/codes.py compared non-ASCII text with hmac.compare_digest: a 500 on the web's
    check-in page, and on the API's, for a code typed with an accent."""
    token = api.sign_in()
    ref = api.book(place, token=token).json()["reservation"]["reference"]
    with time_machine.travel(paris(2026, 3, 3, 9, 50), tick=False):
        answer = api.post(f"/reservations/{ref}/check-in", {"code": "É"}, token=token)
        assert answer.status_code == 422
        web = api.client.post(
            "/reservation/validate", {"code": "ÉCOLE", "email": "alice@example.org"}
        )
        assert web.status_code == 400


def test_the_api_speaks_french_by_default_and_english_on_request(api: Api):
    assert api.get("/me").json()["message"].startswith("Un jeton valide")
    assert api.get("/me", language="en").json()["message"].startswith("A valid token")
