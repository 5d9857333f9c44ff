"""Crashes under load: patrons book through the web pages while the web server (gunicorn, its
master and workers at once) and the worker are killed with SIGKILL, again and again; then
PostgreSQL itself is stopped and started under the load.

After each: every invariant holds (integrity.find_violations / `strapontin verify_data`), no
accepted reservation (a 302 to its page) is missing, and every e-mail reached the mail server.
An e-mail may arrive twice only when the worker was killed between the server's "250" and
marking it sent: at most once per kill, and with the same Message-ID (see notifications)."""

import json
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from strapontin.core.clock import now
from strapontin.reservations.integrity import find_violations
from strapontin.reservations.models import (
    HOLDING_STATES,
    OutboxMessage,
    OutboxState,
    Reservation,
)
from strapontin.reservations.notifications import message_id
from tests.conftest import PARIS
from tests.factories import AreaFactory, ResourceFactory
from tests.reliability.servers import (
    ROOT,
    Inbox,
    Load,
    PrivateCluster,
    Service,
    Slot,
    wait_until,
)

ROUNDS = 3


def tomorrows_slots(slug: str, place_ids: list[int], prefix: str) -> list[Slot]:
    """Every hour from 08:00 to 21:00 tomorrow on each place, each for its own address."""
    day = now().astimezone(PARIS).date() + timedelta(days=1)
    return [
        Slot(
            slug,
            place_id,
            datetime(day.year, day.month, day.day, hour, 0, tzinfo=PARIS),
            f"{prefix}{place_id}-{hour}@example.org",
        )
        for hour in range(8, 22)
        for place_id in place_ids
    ]


def database_url() -> str:
    """The test database, for the processes this test starts."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def assert_every_mail_arrived(mail: Inbox, message_ids: list[str], worker_kills: int) -> None:
    def local(mid: str) -> str:  # the domain comes from each process's BASE_URL
        return mid.split("@")[0]

    received = Counter(local(m) for m in mail.message_ids)
    assert set(received) == {local(m) for m in message_ids}, "an e-mail lost, or from nowhere"
    duplicates = sum(n - 1 for n in received.values())
    assert duplicates <= worker_kills, received.most_common(3)


@pytest.mark.usefixtures("transactional_db")
def test_killing_the_web_server_and_the_worker_loses_nothing(
    inbox: tuple[Inbox, int], tmp_path: Path
) -> None:
    mail, smtp_port = inbox
    area = AreaFactory()
    places = ResourceFactory.create_batch(6, area=area)
    slots = tomorrows_slots(area.establishment.slug, [p.pk for p in places], "crash")
    service = Service(database_url(), smtp_port, tmp_path)
    service.start_worker()
    service.start_web()
    load = Load(service.url, slots)
    load.start()
    try:
        for _round in range(ROUNDS):
            time.sleep(1.5)
            service.kill_web()
            service.start_web()
            time.sleep(0.5)
            service.kill_worker()
            service.start_worker()
        time.sleep(1)
        load.stop.set()  # bounded: what is left of the slots is not needed
        load.join(timeout=60)
        wait_until(
            lambda: not OutboxMessage.objects.exclude(state=OutboxState.SENT).exists(),
            90,
            "every e-mail to be sent",
        )
    finally:
        load.stop.set()
        service.stop()

    outcomes = load.outcomes
    assert {o.status for o in outcomes} <= {302, 409, None}, [o for o in outcomes if o.status]
    # A 409 only ever answers a retry whose first attempt went through before the kill.
    unanswered = {o.slot for o in outcomes if o.status is None}
    assert all(o.slot in unanswered for o in outcomes if o.status == 409)
    accepted = {o.reference for o in load.accepted()}
    assert len(accepted) >= 5, "the load hardly ran"
    stored = dict(Reservation.objects.values_list("reference", "state"))
    assert accepted <= set(stored), accepted - set(stored)
    assert all(stored[r] in HOLDING_STATES for r in accepted)
    assert find_violations() == []
    messages = list(OutboxMessage.objects.all())
    assert len(messages) == len(stored)  # one confirmation request per reservation
    assert_every_mail_arrived(mail, [message_id(m) for m in messages], service.kills["worker"])
    assert service.kills == {"web": ROUNDS, "worker": ROUNDS}


# --- PostgreSQL restarted under load ---------------------------------------------------------

MAKE_PLACES = """
import json, django
django.setup()
from tests.factories import AreaFactory, ResourceFactory
area = AreaFactory()
places = ResourceFactory.create_batch(4, area=area)
print(json.dumps({"slug": area.establishment.slug, "places": [p.pk for p in places]}))
"""


@pytest.mark.postgresql
def test_a_postgresql_restart_under_load_answers_503_then_recovers_by_itself(
    inbox: tuple[Inbox, int], tmp_path: Path
) -> None:
    mail, smtp_port = inbox
    cluster = PrivateCluster()
    service = Service(cluster.url, smtp_port, tmp_path)
    load: Load | None = None
    try:
        service.manage("migrate", "-v0")
        made = subprocess.run(
            [sys.executable, "-c", MAKE_PLACES],
            env=service.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        data = json.loads(made.stdout.splitlines()[-1])
        service.start_worker()
        service.start_web()
        load = Load(service.url, tomorrows_slots(data["slug"], data["places"], "restart"))
        load.start()
        wait_until(lambda: len(load.accepted()) >= 3, 60, "bookings before the restart")

        cluster.stop("fast")
        during = len(load.outcomes)
        wait_until(
            lambda: sum(o.status == 503 for o in load.outcomes[during:]) >= 3,
            30,
            "503 answers while PostgreSQL is down",
        )
        cluster.start()
        after = len(load.outcomes)
        wait_until(
            lambda: any(o.status == 302 for o in load.outcomes[after:]),
            30,
            "a booking accepted once PostgreSQL is back, nothing restarted",
        )
        load.join(timeout=120)
        service.manage("verify_data")

        with psycopg.connect(cluster.url) as db:
            stored = {r for (r,) in db.execute("SELECT reference FROM reservations_reservation")}
            booked_by = {
                email
                for (email,) in db.execute(
                    "SELECT p.email FROM reservations_reservation r "
                    "JOIN reservations_patron p ON p.id = r.patron_id"
                )
            }

            def outbox_drained() -> bool:
                row = db.execute(
                    "SELECT count(*) FROM reservations_outboxmessage WHERE state <> 'sent'"
                ).fetchone()
                return row is not None and row[0] == 0

            wait_until(outbox_drained, 90, "every e-mail to be sent")
            outbox = db.execute("SELECT id, created_at FROM reservations_outboxmessage").fetchall()
    finally:
        if load is not None:
            load.stop.set()
            load.join(timeout=30)
        service.stop()
        cluster.remove()

    outcomes = load.outcomes
    refused = [o for o in outcomes if o.status == 503]
    assert refused, "PostgreSQL's outage was never seen"
    # A COMMIT that PostgreSQL made just as it stopped, its answer lost: the patron's retry
    # is told the place is taken, and it is, by their own reservation. Nothing else is a 409.
    answer_lost = [o for o in outcomes if o.status == 409]
    assert all(o.code == "slot_taken" and o.slot.email in booked_by for o in answer_lost)
    assert all(
        any(e.slot == o.slot and e.status in (None, 503) for e in outcomes) for o in answer_lost
    )
    assert len(answer_lost) <= 3, "a lost answer is a moment's, not the outage's"
    assert {o.status for o in outcomes} <= {302, 409, 503}, [
        (o.status, o.body) for o in outcomes if o.status not in (302, 409, 503)
    ]
    assert all(o.retry_after for o in refused)
    assert all("indisponible" in o.body for o in refused)
    assert max(o.seconds for o in outcomes) < 10, "a request hung"
    accepted = {o.reference for o in load.accepted()}
    assert accepted <= stored
    assert len(outbox) == len(stored)
    expected = [
        message_id(OutboxMessage(pk=pk, created_at=created_at.astimezone(UTC)))
        for pk, created_at in outbox
    ]
    assert_every_mail_arrived(mail, expected, worker_kills=0)
