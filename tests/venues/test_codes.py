"""Check-in codes: the printed one, the entrance screen's one (an HMAC of the establishment's
secret and the minute), how typed codes are read, and which codes each mode accepts."""

from datetime import UTC, datetime, timedelta

import pytest

from strapontin.venues import codes
from strapontin.venues.models import CHECKIN_CODE_ALPHABET, CheckinMode, Establishment
from tests.factories import EstablishmentFactory

#: A step boundary: 2 March 2026, 08:00:00 UTC (09:00 in Paris) is a multiple of 60 s.
BOUNDARY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(seconds=codes.STEP_SECONDS)


@pytest.fixture
def establishment(db: None) -> Establishment:
    return EstablishmentFactory(checkin_code="K7PX3M", checkin_mode=CheckinMode.BOTH)


def test_typed_codes_ignore_case_spaces_and_dashes():
    assert codes.normalise_code(" k7p-x3m ") == "K7PX3M"
    assert codes.normalise_code("k7 px 3m") == "K7PX3M"
    assert codes.normalise_code("") == ""
    assert codes.normalise_code(None) == ""  # type: ignore[arg-type]
    assert len(codes.normalise_code("A" * 100)) == 20


def test_the_printed_code_is_accepted_however_it_is_typed(establishment):
    for typed in ("K7PX3M", "k7px3m", "K7P X3M", "k7p-x3m"):
        assert codes.matches(establishment, typed, BOUNDARY) == "static", typed


def test_wrong_or_empty_codes_are_refused(establishment):
    for typed in ("", "   ", "---", "K7PX3N", "K7PX3", "K7PX3MM"):
        assert codes.matches(establishment, typed, BOUNDARY) is None, typed


def test_the_rotating_code_is_six_characters_without_look_alikes(establishment):
    code = codes.current_rotating_code(establishment, BOUNDARY)
    assert len(code) == codes.ROTATING_LENGTH == 6
    assert set(code) <= set(CHECKIN_CODE_ALPHABET)
    assert not set(code) & set("01IO")


def test_the_rotating_code_depends_on_the_minute_and_the_establishments_secret(establishment):
    other = EstablishmentFactory()
    this_minute = codes.current_rotating_code(establishment, BOUNDARY)
    assert codes.current_rotating_code(establishment, BOUNDARY + MINUTE - SECOND) == this_minute
    assert codes.current_rotating_code(establishment, BOUNDARY + MINUTE) != this_minute
    assert codes.current_rotating_code(other, BOUNDARY) != this_minute
    # Deterministic: every web worker computes the same code.
    same = Establishment.objects.get(pk=establishment.pk)
    assert codes.current_rotating_code(same, BOUNDARY) == this_minute


def test_the_rotating_code_counts_this_minute_and_the_previous_one_only(establishment):
    code = codes.current_rotating_code(establishment, BOUNDARY)
    assert codes.matches(establishment, code, BOUNDARY - SECOND) is None  # not yet shown
    assert codes.matches(establishment, code, BOUNDARY) == "rotating"
    assert codes.matches(establishment, code.lower(), BOUNDARY + MINUTE) == "rotating"
    assert codes.matches(establishment, code, BOUNDARY + 2 * MINUTE - SECOND) == "rotating"
    assert codes.matches(establishment, code, BOUNDARY + 2 * MINUTE) is None


def test_seconds_left_until_the_code_changes():
    assert codes.seconds_left(BOUNDARY) == 60
    assert codes.seconds_left(BOUNDARY + SECOND) == 59
    assert codes.seconds_left(BOUNDARY + MINUTE - SECOND) == 1
    assert codes.time_step(BOUNDARY + MINUTE) == codes.time_step(BOUNDARY) + 1


@pytest.mark.parametrize(
    ("mode", "static", "rotating"),
    [
        (CheckinMode.STATIC, "static", None),
        (CheckinMode.ROTATING, None, "rotating"),
        (CheckinMode.BOTH, "static", "rotating"),
    ],
)
def test_each_mode_accepts_its_codes_only(establishment, mode, static, rotating):
    establishment.checkin_mode = mode
    rotating_code = codes.current_rotating_code(establishment, BOUNDARY)
    assert codes.matches(establishment, "K7PX3M", BOUNDARY) == static
    assert codes.matches(establishment, rotating_code, BOUNDARY) == rotating


def test_a_kiosk_key_works_until_the_next_one_is_issued(establishment):
    assert not codes.kiosk_key_is_valid(establishment, "")
    first = codes.issue_kiosk_key(establishment)
    stored = Establishment.objects.get(pk=establishment.pk)
    assert stored.kiosk_key_hash == codes.hash_key(first)
    assert first not in stored.kiosk_key_hash
    assert len(first) >= 32
    assert codes.kiosk_key_is_valid(stored, first)
    assert not codes.kiosk_key_is_valid(stored, first[:-1])
    assert not codes.kiosk_key_is_valid(stored, "")
    second = codes.issue_kiosk_key(stored)
    assert second != first
    assert codes.kiosk_key_is_valid(stored, second)
    assert not codes.kiosk_key_is_valid(stored, first)


def test_a_new_printed_code_replaces_the_old_one(establishment):
    code = codes.regenerate_static_code(establishment)
    stored = Establishment.objects.get(pk=establishment.pk)
    assert stored.checkin_code == code != "K7PX3M"
    assert len(code) == 6
    assert set(code) <= set(CHECKIN_CODE_ALPHABET)
    assert codes.matches(stored, code, BOUNDARY) == "static"
    assert codes.matches(stored, "K7PX3M", BOUNDARY) is None
