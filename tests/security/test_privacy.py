"""Point 9: personal data. Addresses are anonymised once an establishment's retention period is
over (12 months after the last reservation by default), by the worker, idempotently, keeping the
statistics; a patron downloads their data and deletes their account from "Mes réservations"."""

import json
import threading
import time
from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client, TestCase

from strapontin.api.models import PatronToken, SignInCode
from strapontin.config.worker import run_worker
from strapontin.core.audit import entries_for
from strapontin.core.models import AuditEntry
from strapontin.reservations import presence, services
from strapontin.reservations.models import (
    AccessToken,
    DemoMail,
    OutboxMessage,
    OutboxState,
    Patron,
    Reservation,
    ReservationState,
)
from strapontin.reservations.notifications import deliver_due
from strapontin.reservations.privacy import months_before, sweep_retention
from strapontin.reservations.statistics import establishment_statistics
from tests.conftest import paris
from tests.factories import ResourceFactory
from tests.security.helpers import TUESDAY_10, book, link_of, text_in_database

pytestmark = pytest.mark.usefixtures("clock")


def used_reservation(place, email: str, start) -> Reservation:
    """Booked, confirmed and validated at ``start``: a real piece of history."""
    with time_machine.travel(start - timedelta(days=1), tick=False):
        with TestCase.captureOnCommitCallbacks(execute=True):
            reservation = services.reservation_create(
                resource=place, email=email, start=start, end=start + timedelta(hours=1)
            )
            services.reservation_confirm(reservation=reservation)
    with time_machine.travel(start, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
        presence.reservation_check_in(reservation=reservation, method="desk", actor="desk")
    deliver_due()
    return reservation


def stats_of(place, last=date(2026, 3, 31)):
    return establishment_statistics(place.establishment, date(2024, 1, 1), last)


def figures(stats) -> tuple:
    return (stats.reservations, stats.used, stats.no_shows, dict(stats.by_day), stats.occupancy)


def test_months_before_counts_calendar_months():
    assert months_before(paris(2026, 3, 31, 9, 0), 1) == paris(2026, 2, 28, 9, 0)
    assert months_before(paris(2026, 3, 2, 9, 0), 12) == paris(2025, 3, 2, 9, 0)
    assert months_before(paris(2026, 1, 15, 9, 0), 13) == paris(2024, 12, 15, 9, 0)


def test_an_address_is_anonymised_twelve_months_after_its_last_reservation(place):
    old = used_reservation(place, "old@example.org", paris(2025, 2, 27, 10, 0))
    kept = used_reservation(place, "recent@example.org", paris(2025, 3, 5, 10, 0))
    before = figures(stats_of(place))

    assert sweep_retention() == 1

    old.patron.refresh_from_db()
    assert old.patron.email == f"anonyme-{old.patron.pk}@anonyme.invalid"
    assert old.patron.anonymised_at is not None
    assert Patron.objects.get(pk=kept.patron.pk).email == "recent@example.org"
    assert text_in_database("old@example.org") == []
    assert OutboxMessage.objects.filter(reservation=old).exists()  # the copies stay, anonymised
    assert not AccessToken.objects.filter(patron=old.patron).exists()
    assert entries_for(old.patron).filter(action="patron.anonymised").count() == 1
    # The statistics are those of before, to the hour.
    assert figures(stats_of(place)) == before
    assert Reservation.objects.get(pk=old.pk).state == ReservationState.CHECKED_IN


def test_the_retention_sweep_is_idempotent(place):
    used_reservation(place, "old@example.org", paris(2025, 1, 10, 10, 0))
    assert sweep_retention() == 1
    snapshot = list(Patron.objects.values()), AuditEntry.objects.count()
    assert sweep_retention() == 0
    assert (list(Patron.objects.values()), AuditEntry.objects.count()) == snapshot


def test_each_establishment_sets_its_own_retention(place):
    longer = ResourceFactory()
    longer.establishment.retention_months = 24
    longer.establishment.save()
    shorter = ResourceFactory()
    shorter.establishment.retention_months = 3
    shorter.establishment.save()
    kept = used_reservation(longer, "kept@example.org", paris(2025, 1, 10, 10, 0))
    gone = used_reservation(shorter, "gone@example.org", paris(2025, 11, 20, 10, 0))
    # One patron, two libraries: kept while either still keeps them.
    used_reservation(shorter, "both@example.org", paris(2025, 10, 1, 10, 0))
    used_reservation(longer, "both@example.org", paris(2024, 9, 1, 10, 0))
    assert sweep_retention() == 1
    assert Patron.objects.get(pk=kept.patron_id).anonymised_at is None
    assert Patron.objects.get(pk=gone.patron_id).anonymised_at is not None
    assert Patron.objects.get(email="both@example.org").anonymised_at is None


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_the_retention_sweep(settings):
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}
    }
    place = ResourceFactory()
    old = used_reservation(place, "old@example.org", paris(2025, 1, 10, 10, 0))
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(stop,), kwargs={"interval": 0.05})
    worker.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if Patron.objects.get(pk=old.patron_id).anonymised_at is not None:
                break
            time.sleep(0.1)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert Patron.objects.get(pk=old.patron_id).anonymised_at is not None


# --- "Mes données" -----------------------------------------------------------------------------


def signed_in_browser(place, email="alice@example.org") -> Client:
    """A browser that booked and confirmed from the e-mail: it proved the address."""
    browser = Client()
    book(browser, place, email)
    with TestCase.captureOnCommitCallbacks(execute=True):
        browser.post(browser.get(link_of("confirmer"))["Location"])
    return browser


def test_a_patron_downloads_their_data_as_json(place):
    browser = signed_in_browser(place)
    page = browser.get("/mes-reservations/")
    assert "/mes-reservations/mes-donnees.json" in page.content.decode()
    answer = browser.get("/mes-reservations/mes-donnees.json")
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/json")
    assert "attachment" in answer["Content-Disposition"]
    assert "no-store" in answer["Cache-Control"]
    data = json.loads(answer.content)
    assert data["patron"]["email"] == "alice@example.org"
    (reservation,) = data["reservations"]
    assert reservation["reference"] == Reservation.objects.get().reference
    assert reservation["state"] == "confirmed"
    assert {e["action"] for e in data["journal"]} >= {
        "reservation.requested",
        "reservation.confirmed",
    }
    assert len(data["emails"]) == 2


def test_only_a_browser_that_proved_the_address_gets_the_data(place):
    booked_only = Client()
    book(booked_only, place, "alice@example.org")
    assert booked_only.get("/mes-reservations/mes-donnees.json").status_code == 404
    assert Client().get("/mes-reservations/mes-donnees.json").status_code == 404
    assert (
        booked_only.post("/mes-reservations/supprimer-mon-compte/", {"confirm": "on"}).status_code
        == 404
    )
    assert Patron.objects.get().email == "alice@example.org"


def test_deleting_the_account_asks_for_confirmation_first(place):
    browser = signed_in_browser(place)
    page = browser.get("/mes-reservations/supprimer-mon-compte/")
    assert page.status_code == 200
    assert 'name="confirm"' in page.content.decode()
    refused = browser.post("/mes-reservations/supprimer-mon-compte/")
    assert refused.status_code == 400
    assert Patron.objects.get().email == "alice@example.org"
    assert Reservation.objects.get().state == ReservationState.CONFIRMED


def test_deleting_the_account_frees_the_places_then_erases_the_address_everywhere(place, settings):
    browser = signed_in_browser(place)
    patron = Patron.objects.get()
    elsewhere = Client()
    session = elsewhere.session
    session["patron_id"] = patron.pk
    session.save()
    assert "alice@example.org" in elsewhere.get("/mes-reservations/").content.decode()
    past = used_reservation(
        ResourceFactory(area=place.area), "alice@example.org", paris(2026, 2, 2, 10, 0)
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        Client().post(
            "/api/v1/auth/code", {"email": "alice@example.org"}, content_type="application/json"
        )
    PatronToken.objects.create(
        patron=patron, token_hash="x" * 64, created_at=TUESDAY_10, expires_at=TUESDAY_10
    )
    DemoMail.objects.create(
        to="alice@example.org", subject="Pour alice@example.org", body_text="alice@example.org"
    )
    AuditEntry.objects.create(
        created_at=TUESDAY_10,
        action="note",
        actor_label="desk",
        subject_type="x",
        subject_id=1,
        reason="Appelée au sujet d'ALICE@example.org",
    )
    upcoming = Reservation.objects.get(start=TUESDAY_10)
    before = figures(stats_of(place, last=date(2026, 3, 1)))
    cancel_link = link_of("annuler")

    with TestCase.captureOnCommitCallbacks(execute=True):
        answer = browser.post("/mes-reservations/supprimer-mon-compte/", {"confirm": "on"})
    assert answer.status_code == 302
    deliver_due()

    upcoming.refresh_from_db()
    assert upcoming.state == ReservationState.CANCELLED
    assert entries_for(upcoming).filter(action="reservation.cancelled_by_patron").exists()
    patron.refresh_from_db()
    assert patron.email == f"anonyme-{patron.pk}@anonyme.invalid"
    assert entries_for(patron).filter(action="patron.erased").count() == 1
    assert text_in_database("alice@example.org") == []
    assert not AccessToken.objects.filter(patron=patron).exists()
    assert not SignInCode.objects.exists()
    assert not PatronToken.objects.exists()
    # The e-mails not sent yet never leave (the address is gone); the sent ones stay, anonymised.
    assert not OutboxMessage.objects.filter(state=OutboxState.PENDING).exists()
    assert OutboxMessage.objects.filter(state=OutboxState.SENT, reservation=past).exists()
    # The browser forgot the patron, another one signed in as them sees nobody; the old links
    # open nothing.
    assert "patron_id" not in browser.session
    assert "anonyme" not in elsewhere.get("/mes-reservations/").content.decode()
    opened = Client()
    assert opened.get(opened.get(cancel_link)["Location"]).status_code == 404
    # Past reservations still count; the address can book again, as someone new.
    assert figures(stats_of(place, last=date(2026, 3, 1))) == before
    assert Reservation.objects.get(pk=past.pk).state == ReservationState.CHECKED_IN
    mail.outbox.clear()
    book(Client(), place, "alice@example.org", start=TUESDAY_10 + timedelta(hours=3))
    assert Patron.objects.filter(email="alice@example.org").exclude(pk=patron.pk).exists()
