"""Personal data (RGPD): what a patron can download, erasing an address on request, and the
retention sweep that anonymises addresses once an establishment no longer needs them.

An address is the only personal data of a patron. Erasing it replaces it everywhere it was
written — the patron, the audit log, the outbox (e-mails already sent included) and the
demo's mailbox — by ``anonyme-<id>@anonyme.invalid``; the reservations themselves stay, so
that the statistics do not change. See docs/privacy.md.
"""

import calendar
import logging
from datetime import datetime
from typing import Any

import django.dispatch
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from strapontin.core.audit import log_action
from strapontin.core.clock import now
from strapontin.core.errors import DomainError
from strapontin.core.models import AuditEntry
from strapontin.reservations import presence, services, waitlist
from strapontin.reservations.models import (
    HOLDING_STATES,
    LIVE_WAITLIST_STATES,
    DemoMail,
    DrawRequest,
    DrawRequestState,
    OutboxMessage,
    OutboxState,
    Patron,
    Reservation,
    ReservationState,
    Suspension,
    WaitlistRequest,
)
from strapontin.venues.models import Establishment

logger = logging.getLogger(__name__)

ANONYMOUS_DOMAIN = "anonyme.invalid"
DEFAULT_RETENTION_MONTHS = 12
#: Sent inside the erasing transaction, with ``patron`` and ``email`` (the address erased),
#: so that apps holding the address too (the API's sign-in codes) forget it as well.
patron_erased = django.dispatch.Signal()


def anonymous_address(patron: Patron) -> str:
    return f"anonyme-{patron.pk}@{ANONYMOUS_DOMAIN}"


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and hour ``months`` calendar months earlier (clamped to the month's end)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


# --- Download ---------------------------------------------------------------------------------


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def patron_export(*, patron: Patron) -> dict[str, Any]:
    """Everything kept about ``patron``, as the JSON "Mes données" downloads (art. 15, 20)."""
    reservations = Reservation.objects.filter(patron=patron).select_related(
        "resource__area", "establishment"
    )
    subjects = (
        Q(subject_type="reservations.patron", subject_id=patron.pk)
        | Q(subject_type="reservations.reservation", subject_id__in=reservations.values("pk"))
        | Q(
            subject_type="reservations.drawrequest",
            subject_id__in=DrawRequest.objects.filter(patron=patron).values("pk"),
        )
        | Q(
            subject_type="reservations.waitlistrequest",
            subject_id__in=WaitlistRequest.objects.filter(patron=patron).values("pk"),
        )
    )
    return {
        "exported_at": now().isoformat(),
        "patron": {
            "email": patron.email,
            "verified_at": _when(patron.verified_at),
            "language": patron.language,
            "first_seen": _when(patron.created_at),
        },
        "reservations": [
            {
                "reference": r.reference,
                "establishment": r.establishment.name,
                "place": f"{r.resource.area.name} - {r.resource.label}",
                "start": _when(r.start),
                "end": _when(r.end),
                "state": r.state,
                "booked_at": _when(r.created_at),
                "confirmed_at": _when(r.confirmed_at),
                "presence_validated_at": _when(r.checked_in_at),
                "validated_by": r.checkin_method,
                "ended_at": _when(r.ended_at),
                "cancelled_by": r.cancel_cause,
                "cancel_reason": r.cancel_reason,
            }
            for r in reservations.order_by("start")
        ],
        "draw_requests": [
            {
                "reference": r.reference,
                "establishment": r.draw.establishment.name,
                "day": r.draw.day.isoformat(),
                "place": f"{r.resource.area.name} - {r.resource.label}",
                "start": _when(r.start),
                "end": _when(r.end),
                "state": r.state,
                "position": r.position,
                "outcome": r.outcome,
                "asked_at": _when(r.created_at),
            }
            for r in DrawRequest.objects.filter(patron=patron)
            .select_related("draw__establishment", "resource__area")
            .order_by("created_at")
        ],
        "suspensions": [
            {
                "establishment": s.establishment.name,
                "from": _when(s.starts_at),
                "until": _when(s.ends_at),
                "no_shows": s.no_shows,
                "lifted_at": _when(s.lifted_at),
            }
            for s in Suspension.objects.filter(patron=patron).select_related("establishment")
        ],
        "waitlist": [
            {
                "reference": w.reference,
                "establishment": w.establishment.name,
                "area": w.area.name if w.area else None,
                "kind": w.kind,
                "features": w.features,
                "start": _when(w.start),
                "end": _when(w.end),
                "state": w.state,
                "origin": w.origin,
                "asked_at": _when(w.created_at),
                "ended_at": _when(w.ended_at),
            }
            for w in WaitlistRequest.objects.filter(patron=patron)
            .select_related("establishment", "area")
            .order_by("created_at")
        ],
        "emails": [
            {"date": _when(m.created_at), "subject": m.subject, "state": m.state}
            for m in OutboxMessage.objects.filter(to=patron.email).order_by("created_at")
        ],
        "journal": [
            {"date": _when(e.created_at), "action": e.action, "reason": e.reason}
            for e in AuditEntry.objects.filter(subjects).order_by("created_at", "id")
        ],
    }


# --- Erasing ----------------------------------------------------------------------------------


def _replace(text: str, old: str, new: str) -> str:
    """Case-insensitively: the address may have been typed in capitals in a reason."""
    if not text or old not in text.lower():
        return text
    lowered, out, start = text.lower(), [], 0
    while (found := lowered.find(old, start)) != -1:
        out += [text[start:found], new]
        start = found + len(old)
    return "".join([*out, text[start:]])


def _erase_address(patron: Patron, moment: datetime, *, action: str, actor: str) -> None:
    """Under the patron's lock: the address replaced wherever it was written, tokens gone."""
    old, new = patron.email, anonymous_address(patron)
    patron.email = new
    patron.verified_at = None
    patron.anonymised_at = moment
    patron.save(update_fields=["email", "verified_at", "anonymised_at"])
    patron.tokens.all().delete()
    # Not sent yet: never will be (the address is gone). Sent: the copy keeps no address.
    OutboxMessage.objects.filter(to=old).exclude(state=OutboxState.SENT).update(
        state=OutboxState.FAILED, locked_until=None, last_error="address erased"
    )
    for message in OutboxMessage.objects.filter(Q(to=old) | Q(reservation__patron=patron)):
        message.to = new
        message.subject = _replace(message.subject, old, new)
        message.body_text = _replace(message.body_text, old, new)
        message.body_html = _replace(message.body_html, old, new)
        message.attachments = [
            {**a, "content": _replace(a.get("content", ""), old, new)} for a in message.attachments
        ]
        message.save(update_fields=["to", "subject", "body_text", "body_html", "attachments"])
    for mail in DemoMail.objects.filter(to__icontains=old):
        mail.to = _replace(mail.to, old, new)
        mail.subject = _replace(mail.subject, old, new)
        mail.body_text = _replace(mail.body_text, old, new)
        mail.body_html = _replace(mail.body_html, old, new)
        mail.save(update_fields=["to", "subject", "body_text", "body_html"])
    for entry in AuditEntry.objects.filter(Q(actor_label=old) | Q(reason__icontains=old)):
        entry.actor_label = _replace(entry.actor_label, old, new)
        entry.reason = _replace(entry.reason, old, new)
        entry.save(update_fields=["actor_label", "reason"])
    patron_erased.send(sender=Patron, patron=patron, email=old)
    log_action(patron, action, actor=actor)


def _end_holding(patron: Patron, moment: datetime) -> int:
    """Cancel (or, if under way, release) what the patron still holds, each audited; leave
    the waitlist (a place held there goes to the next)."""
    ended = 0
    for wish in WaitlistRequest.objects.filter(patron=patron, state__in=LIVE_WAITLIST_STATES):
        waitlist.waitlist_request_cancel(request=wish)
    for reservation in Reservation.objects.filter(
        patron=patron, state__in=HOLDING_STATES, end__gt=moment
    ).select_related("patron", "resource__area", "establishment"):
        try:
            if reservation.state in (ReservationState.CHECKED_IN, ReservationState.ON_BREAK):
                presence.reservation_leave_early(reservation=reservation)
            elif reservation.state == ReservationState.OFFERED:
                waitlist.offer_decline(reservation=reservation)
            else:
                services.reservation_cancel_by_patron(reservation=reservation)
            ended += 1
        except DomainError as error:  # it moved on meanwhile (expired, over): nothing to free
            logger.info("Erasing %s: %s left as it is (%s)", patron.pk, reservation, error.code)
    return ended


def _withdraw_requests(patron: Patron) -> None:
    """Requests not drawn yet leave the draw: nobody is left to send the result to."""
    DrawRequest.objects.filter(
        patron=patron, state__in=[DrawRequestState.UNCONFIRMED, DrawRequestState.ENTERED]
    ).update(state=DrawRequestState.VOID, outcome="withdrawn")


def patron_erase(*, patron: Patron) -> None:
    """ "Supprimer mon compte": free the places first, then erase the address everywhere."""
    moment = now()
    _end_holding(patron, moment)
    with transaction.atomic():
        current = Patron.objects.select_for_update().get(pk=patron.pk)
        if current.anonymised_at is not None:
            return
        _withdraw_requests(current)
        _erase_address(current, moment, action="patron.erased", actor=anonymous_address(current))


# --- Retention --------------------------------------------------------------------------------


def retention_candidates(moment: datetime) -> QuerySet[Patron]:
    """Patrons with no reservation inside the retention period of its establishment."""
    months = dict(Establishment.objects.values_list("pk", "retention_months"))
    recent = Q(pk__in=[])
    for establishment_id, kept in months.items():
        recent |= Q(establishment_id=establishment_id, end__gt=months_before(moment, kept))
    # A draw request counts as a reservation would, from its day on.
    recent_requests = Q(pk__in=[])
    for establishment_id, kept in months.items():
        recent_requests |= Q(
            draw__establishment_id=establishment_id,
            end__gt=months_before(moment, kept),
        )
    shortest = min(months.values(), default=DEFAULT_RETENTION_MONTHS)
    shortest = min(shortest, DEFAULT_RETENTION_MONTHS)
    return (
        Patron.objects.filter(
            anonymised_at__isnull=True, created_at__lt=months_before(moment, shortest)
        )
        .exclude(Exists(Reservation.objects.filter(recent, patron=OuterRef("pk"))))
        .exclude(Exists(DrawRequest.objects.filter(recent_requests, patron=OuterRef("pk"))))
        .exclude(
            Exists(
                WaitlistRequest.objects.filter(
                    patron=OuterRef("pk"), state__in=LIVE_WAITLIST_STATES, start__gt=moment
                )
            )
        )
        .order_by("pk")
    )


def sweep_retention(limit: int = 200) -> int:
    """Anonymise the addresses whose retention period is over; each patron in its own
    transaction, skipped if already done, so the sweep can run anywhere, any number of times."""
    moment = now()
    done = 0
    for patron in retention_candidates(moment)[:limit]:
        with transaction.atomic():
            current = Patron.objects.select_for_update().get(pk=patron.pk)
            if current.anonymised_at is not None:
                continue
            _withdraw_requests(current)
            _erase_address(current, moment, action="patron.anonymised", actor="system")
            done += 1
    return done
