"""Fair opening and personal data (requests exported, withdrawn on erasure, kept no longer
than reservations), and the demo's library that opens by lottery."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client

from strapontin.reservations import lottery
from strapontin.reservations.models import Draw, DrawRequest, DrawRequestState, Patron
from strapontin.reservations.privacy import patron_erase, patron_export, sweep_retention
from strapontin.venues.models import Establishment
from strapontin.venues.policy import effective_policy
from tests.conftest import paris
from tests.lottery.conftest import WINDOW_CLOSES, entered
from tests.security.helpers import text_in_database

pytestmark = pytest.mark.usefixtures("clock")


def test_a_patron_s_data_download_lists_their_draw_requests(seats):
    request = entered(seats[0], "ines@example.org")
    data = patron_export(patron=request.patron)
    assert [r["reference"] for r in data["draw_requests"]] == [request.reference]
    assert data["draw_requests"][0]["state"] == DrawRequestState.ENTERED
    assert "draw_request.entered" in [e["action"] for e in data["journal"]]


def test_erasing_the_address_withdraws_the_requests_and_leaves_no_address(seats, clock):
    request = entered(seats[0], "jules@example.org")
    patron_erase(patron=request.patron)
    request.refresh_from_db()
    assert request.state == DrawRequestState.VOID
    assert text_in_database("jules@example.org") == []
    clock.move_to(WINDOW_CLOSES)
    lottery.sweep_draws()
    assert Draw.objects.get().results == []


def test_a_recent_request_keeps_the_address_like_a_reservation_would(seats, clock):
    request = entered(seats[0], "kim@example.org")
    Patron.objects.filter(pk=request.patron_id).update(created_at=paris(2024, 1, 1, 9, 0))
    with time_machine.travel(paris(2026, 12, 1, 9, 0), tick=False):
        assert sweep_retention() == 0
    with time_machine.travel(paris(2027, 3, 10, 9, 0), tick=False):
        assert sweep_retention() == 1
    assert DrawRequest.objects.get().patron.anonymised_at is not None


def test_the_demo_has_a_library_whose_new_day_opens_by_lottery_now(db, clock):
    call_command("seed_demo")
    campus = Establishment.objects.get(slug="bu-campus")
    policy = effective_policy(campus)
    assert policy.fair_opening
    window = lottery.next_window(campus, paris(2026, 3, 2, 9, 1))
    assert window is not None
    assert window.is_open(paris(2026, 3, 2, 9, 1))
    page = Client().get("/bu-campus/").content.decode()
    assert "Ouverture équitable" in page
    grid = Client().get(f"/bu-campus/reservation/?date={window.day}")
    assert grid.status_code == 200
    assert window.closes_at - window.opens_at == timedelta(minutes=15)
