"""Signing in by e-mailed code: 6 digits, hashed, 10 minutes, 5 attempts, the same answer for
every address; the patron token it gives is hashed, long-lived and revocable."""

import time_machine
from django.core import mail

from strapontin.api import patrons
from strapontin.api.models import PatronToken, SignInCode
from strapontin.core.audit import entries_for
from strapontin.reservations.models import Patron
from tests.api.conftest import Api, code_in, error_of, last_mail_to
from tests.conftest import paris


def test_a_code_is_emailed_and_only_its_keyed_hash_is_stored(api: Api):
    answer = api.post("/auth/code", {"email": "Alice@Example.org"})
    assert answer.status_code == 202
    code = code_in(last_mail_to("alice@example.org"))
    assert len(code) == 6
    assert code.isdigit()
    assert code in mail.outbox[-1].subject
    stored = SignInCode.objects.get()
    assert stored.email == "alice@example.org"
    assert code not in stored.code_hash
    assert len(stored.code_hash) == 64
    assert Patron.objects.count() == 0  # asking creates no patron


def test_known_and_unknown_addresses_get_the_same_answer(api: Api, place):
    api.book(place, email="known@example.org")
    known = api.post("/auth/code", {"email": "known@example.org"})
    unknown = api.post("/auth/code", {"email": "unknown@example.org"})
    assert known.status_code == unknown.status_code == 202
    assert known.json()["message"].replace("known@", "") == unknown.json()["message"].replace(
        "unknown@", ""
    )


def test_the_code_gives_a_hashed_patron_token_and_verifies_the_address(api: Api):
    api.post("/auth/code", {"email": "alice@example.org"})
    code = code_in(last_mail_to("alice@example.org"))
    answer = api.post("/auth/token", {"email": "ALICE@example.org", "code": code})
    assert answer.status_code == 201
    token = answer.json()["token"]
    assert len(token) >= 43  # 256 bits
    stored = PatronToken.objects.get()
    assert stored.token_hash != token
    assert token not in stored.token_hash
    assert answer.json()["expires_at"].startswith("2027-03-02")
    patron = Patron.objects.get(email="alice@example.org")
    assert patron.is_verified
    assert [e.action for e in entries_for(patron)] == ["patron.signed_in"]
    me = api.get("/me", token=token)
    assert me.json() == {"email": "alice@example.org", "verified": True, "language": "fr"}


def test_a_code_works_once(api: Api):
    api.post("/auth/code", {"email": "alice@example.org"})
    code = code_in(last_mail_to("alice@example.org"))
    assert api.post("/auth/token", {"email": "alice@example.org", "code": code}).status_code == 201
    again = api.post("/auth/token", {"email": "alice@example.org", "code": code})
    assert again.status_code == 400
    assert error_of(again) == "sign_in_code_invalid"


def test_a_code_expires_after_ten_minutes(api: Api):
    api.post("/auth/code", {"email": "alice@example.org"})
    code = code_in(last_mail_to("alice@example.org"))
    with time_machine.travel(paris(2026, 3, 2, 9, 10), tick=False):
        late = api.post("/auth/token", {"email": "alice@example.org", "code": code})
    assert error_of(late) == "sign_in_code_invalid"


def test_five_wrong_attempts_kill_the_code(api: Api):
    api.post("/auth/code", {"email": "alice@example.org"})
    code = code_in(last_mail_to("alice@example.org"))
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        answer = api.post("/auth/token", {"email": "alice@example.org", "code": wrong})
        assert error_of(answer) == "sign_in_code_invalid"
    assert SignInCode.objects.get().attempts == 5
    right = api.post("/auth/token", {"email": "alice@example.org", "code": code})
    assert right.status_code == 400
    assert error_of(right) == "sign_in_code_invalid"


def test_a_code_for_one_address_does_not_open_another(api: Api):
    api.post("/auth/code", {"email": "alice@example.org"})
    code = code_in(last_mail_to("alice@example.org"))
    answer = api.post("/auth/token", {"email": "mallory@example.org", "code": code})
    assert error_of(answer) == "sign_in_code_invalid"


def test_an_inbox_gets_three_codes_an_hour_and_the_answer_does_not_change(api: Api):
    for _ in range(4):
        assert api.post("/auth/code", {"email": "alice@example.org"}).status_code == 202
    assert len(mail.outbox) == 3
    with time_machine.travel(paris(2026, 3, 2, 10, 0), tick=False):
        api.post("/auth/code", {"email": "alice@example.org"})
    assert len(mail.outbox) == 4


def test_asking_for_codes_is_throttled_per_client(api: Api, monkeypatch):
    monkeypatch.setattr(patrons, "CODE_REQUESTS_PER_CLIENT", 2)
    for n in range(2):
        assert api.post("/auth/code", {"email": f"p{n}@example.org"}).status_code == 202
    refused = api.post("/auth/code", {"email": "p3@example.org"})
    assert refused.status_code == 429
    assert error_of(refused) == "too_many_requests"
    assert 0 < int(refused["Retry-After"]) <= 600


def test_trying_codes_is_throttled_per_client(api: Api, monkeypatch):
    monkeypatch.setattr(patrons, "CODE_ATTEMPTS_PER_CLIENT", 3)
    for n in range(3):
        answer = api.post("/auth/token", {"email": f"p{n}@example.org", "code": "123456"})
        assert answer.status_code == 400
    refused = api.post("/auth/token", {"email": "p9@example.org", "code": "123456"})
    assert refused.status_code == 429
    assert refused.has_header("Retry-After")


def test_a_patron_token_is_revoked_by_signing_out(api: Api):
    token = api.sign_in()
    assert api.delete("/auth/token", token=token).status_code == 204
    assert PatronToken.objects.get().revoked_at is not None
    refused = api.get("/me/reservations", token=token)
    assert refused.status_code == 401
    assert error_of(refused) == "unauthorized"
    assert refused["WWW-Authenticate"] == "Bearer"


def test_an_invalid_patron_token_is_refused_even_where_it_is_optional(api: Api, place):
    answer = api.book(place, token="not-a-real-token-at-all")
    assert answer.status_code == 401
    assert error_of(answer) == "unauthorized"


def test_a_patron_token_records_its_last_use_at_most_every_ten_minutes(api: Api):
    """Not a write on every request: a use within ten minutes of the one recorded changes
    nothing (on PostgreSQL the token's own lookup writes it, on SQLite a second statement)."""
    token = api.sign_in()  # the frozen Monday, 09:00 in Paris
    assert PatronToken.objects.get().last_used_at is None

    def used_at(hour: int, minute: int) -> object:
        with time_machine.travel(paris(2026, 3, 2, hour, minute), tick=False):
            assert api.get("/me", token=token).status_code == 200
        return PatronToken.objects.get().last_used_at

    assert used_at(9, 1) == paris(2026, 3, 2, 9, 1)
    assert used_at(9, 10) == paris(2026, 3, 2, 9, 1)
    assert used_at(9, 12) == paris(2026, 3, 2, 9, 12)
    api.delete("/auth/token", token=token)
    with time_machine.travel(paris(2026, 3, 2, 10, 0), tick=False):
        assert api.get("/me", token=token).status_code == 401
    assert PatronToken.objects.get().last_used_at == paris(2026, 3, 2, 9, 12)
