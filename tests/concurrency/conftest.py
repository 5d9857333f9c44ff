import pytest

from strapontin.api import reservations as api_reservations
from strapontin.public import throttling


@pytest.fixture(autouse=True)
def _one_machine_plays_every_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every client of these races comes from 127.0.0.1, where the per-client booking limits
    would stop the rush after 30: they test the database's guard, not the rate limits
    (tests/security/test_rate_limits.py does)."""
    monkeypatch.setattr(throttling, "BOOKINGS_PER_CLIENT", 10_000)
    monkeypatch.setattr(api_reservations, "BOOKINGS_PER_CLIENT", 10_000)
