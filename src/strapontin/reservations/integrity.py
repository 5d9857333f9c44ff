"""The invariants of the stored data, checked after the fact: after a crash, on a restored
backup (``strapontin verify_data``), and after every step of the tests' state machine.

The database and the services guard these invariants as things happen; this module reads what
is stored and says where it does not hold. It replays every reservation's audit trail through
the lifecycle of DESIGN.md (pending → confirmed → checked_in ⇄ on_break → released, and the
endings), so a state reached without its audited transition, or an e-mail sent for no cause
(or not sent), shows up here."""

from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q

from strapontin.core.clock import now
from strapontin.core.intervals import overlaps
from strapontin.core.models import AuditEntry
from strapontin.reservations.lottery import draw_check
from strapontin.reservations.models import (
    HOLDING_STATES,
    Draw,
    OutboxMessage,
    Reservation,
    ReservationState,
    Suspension,
    WaitlistRequest,
    WaitlistState,
)

S = ReservationState
Row = Mapping[str, Any]

#: The audit entry that creates a reservation, and the state it starts in.
CREATED_AS: dict[str, str] = {
    "reservation.requested": S.PENDING,
    "reservation.confirmed": S.CONFIRMED,
    "reservation.booked_at_desk": S.CONFIRMED,
    #: The demo's sample reservations (config/demo_data.py), no e-mail: present already, or
    #: confirmed and still to come (for the desk to validate).
    "reservation.seeded": S.CHECKED_IN,
    "reservation.seeded_confirmed": S.CONFIRMED,
    #: A freed place held for a waitlist request (e-mailed), or for a patron whose
    #: reservation a closure cancels (the link is in that cancellation's e-mail).
    "reservation.offered": S.OFFERED,
    "reservation.offered_for_rebooking": S.OFFERED,
}
#: Every legal transition of the lifecycle: (state, audited action) → next state.
TRANSITIONS: dict[tuple[str, str], str] = {
    (S.PENDING, "reservation.confirmed"): S.CONFIRMED,
    (S.PENDING, "reservation.expired"): S.EXPIRED,
    (S.PENDING, "reservation.cancelled_by_patron"): S.CANCELLED,
    (S.PENDING, "reservation.cancelled_by_staff"): S.CANCELLED,
    (S.CONFIRMED, "reservation.checked_in"): S.CHECKED_IN,
    (S.CONFIRMED, "reservation.no_show"): S.NO_SHOW,
    (S.CONFIRMED, "reservation.cancelled_by_patron"): S.CANCELLED,
    (S.CONFIRMED, "reservation.cancelled_by_staff"): S.CANCELLED,
    (S.CHECKED_IN, "reservation.released"): S.RELEASED,
    (S.CHECKED_IN, "reservation.break_started"): S.ON_BREAK,
    (S.ON_BREAK, "reservation.back_from_break"): S.CHECKED_IN,
    (S.ON_BREAK, "reservation.released"): S.RELEASED,
    (S.ON_BREAK, "reservation.break_over"): S.RELEASED,
    (S.OFFERED, "reservation.offer_taken"): S.CONFIRMED,
    (S.OFFERED, "reservation.offer_lapsed"): S.EXPIRED,
    (S.OFFERED, "reservation.offer_declined"): S.CANCELLED,
}
#: Audited actions that leave the state as it is.
NO_CHANGE = {"reservation.email_resent"}
#: The e-mail each audited action sends (by its outbox cause), given the state it acted in.
EMAIL_OF_ACTION: dict[str, str] = {
    "reservation.requested": "reservation.confirmation_requested",
    "reservation.confirmed": "reservation.confirmed",
    "reservation.booked_at_desk": "reservation.confirmed",
    "reservation.expired": "reservation.expired",
    "reservation.no_show": "reservation.no_show",
    "reservation.break_over": "reservation.break_over",
    "reservation.cancelled_by_patron": "reservation.cancelled",
    "reservation.cancelled_by_staff": "reservation.cancelled",
    "reservation.offered": "reservation.offered",
    "reservation.offer_taken": "reservation.confirmed",
}
EMAIL_RESENT_IN: dict[str, str] = {
    S.PENDING: "reservation.confirmation_requested",
    S.CONFIRMED: "reservation.confirmed",
}
ENDED_STATES = {S.RELEASED, S.EXPIRED, S.NO_SHOW, S.CANCELLED}


@dataclass(frozen=True)
class Violation:
    code: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"{self.code}: {self.subject}: {self.detail}"


@dataclass(frozen=True)
class Replay:
    """What a reservation's audit trail says happened to it."""

    state: str | None
    emails: Counter[str]
    problems: tuple[str, ...]


def replay(actions: list[str]) -> Replay:
    """Walk the audit trail from its creation entry through the legal transitions only."""
    emails: Counter[str] = Counter()
    problems: list[str] = []
    if not actions or actions[0] not in CREATED_AS:
        return Replay(None, emails, (f"no creation entry first: {actions[:3]}",))
    state: str = CREATED_AS[actions[0]]
    if actions[0] in EMAIL_OF_ACTION:
        emails[EMAIL_OF_ACTION[actions[0]]] += 1
    for action in actions[1:]:
        if action in NO_CHANGE:
            if state not in EMAIL_RESENT_IN:
                problems.append(f"{action} in state {state}")
            else:
                emails[EMAIL_RESENT_IN[state]] += 1
            continue
        following = TRANSITIONS.get((state, action))
        if following is None:
            problems.append(f"illegal transition {state} --{action}-->")
            continue
        state = following
        if action in EMAIL_OF_ACTION:
            emails[EMAIL_OF_ACTION[action]] += 1
    return Replay(state, emails, tuple(problems))


def _overlapping(rows: Sequence[Row], key: str) -> Iterator[tuple[Row, Row]]:
    """Pairs of rows with the same ``key`` whose [start, end) overlap (sorted sweep)."""
    by_key: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        by_key[row[key]].append(row)
    for group in by_key.values():
        group.sort(key=lambda r: r["start"])
        latest: Row | None = None
        for row in group:
            if latest is not None and overlaps(
                latest["start"], latest["end"], row["start"], row["end"]
            ):
                yield latest, row
            if latest is None or row["end"] > latest["end"]:
                latest = row


def _fields_problems(row: Row) -> list[str]:
    state = row["state"]
    problems = []
    if state == S.PENDING and row["confirmation_deadline"] is None:
        problems.append("pending without a confirmation deadline")
    if state in (S.CONFIRMED, S.CHECKED_IN, S.ON_BREAK) and row["confirmed_at"] is None:
        problems.append(f"{state} without confirmed_at")
    if state in (S.CHECKED_IN, S.ON_BREAK, S.RELEASED) and row["checked_in_at"] is None:
        problems.append(f"{state} without checked_in_at")
    if state == S.ON_BREAK and row["break_ends_at"] is None:
        problems.append("on_break without break_ends_at")
    if state == S.OFFERED and row["offer_deadline"] is None:
        problems.append("offered without an offer deadline")
    if state in ENDED_STATES and row["ended_at"] is None:
        problems.append(f"{state} without ended_at")
    return problems


def find_violations(*, using: str = "default", moment: datetime | None = None) -> list[Violation]:
    """Every place where the stored data breaks an invariant; empty when all hold."""
    moment = moment or now()
    found: list[Violation] = []
    reservations = list(
        Reservation.objects.using(using)
        .order_by("pk")
        .values(
            "pk",
            "reference",
            "resource_id",
            "patron_id",
            "start",
            "end",
            "state",
            "confirmation_deadline",
            "confirmed_at",
            "checked_in_at",
            "checkin_closes_at",
            "break_ends_at",
            "offer_deadline",
            "ended_at",
            "reminder_sent_at",
        )
    )
    # I1: by stored state, no two holding reservations of one place overlap.
    holding = [r for r in reservations if r["state"] in HOLDING_STATES]
    for a, b in _overlapping(holding, "resource_id"):
        found.append(Violation("place_double_booked", a["reference"], f"overlaps {b['reference']}"))
    # I2: no patron holds two overlapping reservations (overdue ones no longer hold: I5).
    still_holding = [
        r
        for r in holding
        if not (
            (r["state"] == S.PENDING and (r["confirmation_deadline"] or moment) <= moment)
            or (r["state"] == S.CONFIRMED and r["checkin_closes_at"] <= moment)
            or (r["state"] == S.ON_BREAK and (r["break_ends_at"] or moment) <= moment)
            or (r["state"] == S.OFFERED and (r["offer_deadline"] or moment) <= moment)
        )
    ]
    for a, b in _overlapping(still_holding, "patron_id"):
        found.append(Violation("patron_overlap", a["reference"], f"overlaps {b['reference']}"))

    trails: dict[int, list[str]] = defaultdict(list)
    entries = (
        AuditEntry.objects.using(using)
        .filter(subject_type=Reservation._meta.label_lower)
        .order_by("pk")
        .values_list("subject_id", "action")
    )
    for subject_id, action in entries.iterator(chunk_size=5000):
        trails[subject_id].append(action)
    sent: dict[int, Counter[str]] = defaultdict(Counter)
    messages = (
        OutboxMessage.objects.using(using)
        .filter(reservation__isnull=False)
        .values_list("reservation_id", "cause")
    )
    for reservation_id, cause in messages.iterator(chunk_size=5000):
        sent[reservation_id][cause] += 1

    for row in reservations:
        subject = row["reference"]
        for problem in _fields_problems(row):
            found.append(Violation("inconsistent_fields", subject, problem))
        history = replay(trails.get(row["pk"], []))
        for problem in history.problems:
            found.append(Violation("audit_trail", subject, problem))
        if history.state is not None and history.state != row["state"]:
            found.append(
                Violation(
                    "unaudited_state",
                    subject,
                    f"stored {row['state']}, audit trail says {history.state}",
                )
            )
        expected = history.emails
        if row["reminder_sent_at"] is not None:
            expected["reservation.reminder"] += 1
        if sent[row["pk"]] != expected:
            found.append(
                Violation(
                    "outbox_mismatch",
                    subject,
                    f"e-mails {dict(sent[row['pk']])}, causes {dict(expected)}",
                )
            )
    # Fair opening: each draw done re-runs from its seed to the published result, and gives
    # each place once (its reservations are made by reservation_create, audited as any).
    for draw in Draw.objects.using(using).filter(completed_at__isnull=False):
        for problem in draw_check(draw, using=using):
            found.append(Violation("draw", f"{draw.establishment_id}/{draw.day}", problem))
    # The waitlist: a request said to have a place held has it held, and no place is held
    # for two requests (no double offer).
    offers: Counter[int] = Counter()
    for reference, state, offer_id, offer_state in (
        WaitlistRequest.objects.using(using)
        .filter(offer__isnull=False)
        .values_list("reference", "state", "offer_id", "offer__state")
    ):
        offers[offer_id] += 1
        if (state == WaitlistState.OFFERED) != (offer_state == S.OFFERED):
            found.append(
                Violation("waitlist_offer", reference, f"request {state}, offer {offer_state}")
            )
    for offer_id, count in offers.items():
        if count > 1:
            found.append(Violation("waitlist_offer", str(offer_id), f"held for {count} requests"))
    suspensions = Suspension.objects.using(using).count()
    suspension_emails = (
        OutboxMessage.objects.using(using).filter(Q(cause="patron.suspended")).count()
    )
    if suspensions != suspension_emails:
        found.append(
            Violation(
                "outbox_mismatch",
                "suspensions",
                f"{suspensions} suspensions, {suspension_emails} e-mails",
            )
        )
    return found
