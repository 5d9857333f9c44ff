"""The booking policy that applies to a place, and the rules that need no database (I3)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from strapontin.core.errors import DomainError
from strapontin.venues.models import Area, BookingPolicy, Establishment
from strapontin.venues.rules import remembered
from strapontin.venues.schedule import DayHours, is_on_grid, local_date, opening_containing


def effective_policy(establishment: Establishment, area: Area | None = None) -> BookingPolicy:
    """The area's own policy if it has one, else the establishment's, else the defaults.
    This runs on every booking and every page of the grid: one query, then none until the
    establishment's rules change (venues/rules.py). Shared between requests: read only."""

    def read() -> BookingPolicy:
        scope = Q(establishment=establishment, area__isnull=True)
        if area is not None:
            scope |= Q(area=area)
        found = sorted(BookingPolicy.objects.filter(scope), key=lambda p: p.area_id is None)
        return found[0] if found else BookingPolicy(establishment_id=establishment.pk)

    return remembered(establishment, ("policy", area.pk if area is not None else None), read)


def last_bookable_day(policy: BookingPolicy, local_now: datetime) -> date:
    """The horizon: ``horizon_days`` ahead, the last day opening at ``day_opens_at``."""
    last = local_now.date() + timedelta(days=policy.horizon_days)
    if local_now.time() < policy.day_opens_at:
        last -= timedelta(days=1)
    return last


@dataclass(frozen=True)
class FairWindow:
    """When the requests for ``day`` are collected (fair opening): [opens_at, closes_at)."""

    day: date
    opens_at: datetime
    closes_at: datetime

    def is_open(self, moment: datetime) -> bool:
        return self.opens_at <= moment < self.closes_at


def fair_window(policy: BookingPolicy, day: date, tz: ZoneInfo) -> FairWindow | None:
    """The request window of ``day``, or None without fair opening. ``day`` becomes bookable
    ``horizon_days`` before, at ``day_opens_at`` (``last_bookable_day``): the window starts
    then and lasts ``fair_window_minutes``."""
    if not policy.fair_opening:
        return None
    local = datetime.combine(day - timedelta(days=policy.horizon_days), policy.day_opens_at, tz)
    opens = local.astimezone(UTC)  # minutes added in UTC: a DST change may fall inside
    return FairWindow(day, opens, opens + timedelta(minutes=policy.fair_window_minutes))


def duration_choices(policy: BookingPolicy) -> list[int]:
    """Allowed durations in minutes, on the slot grid, from the minimum to the maximum."""
    return list(
        range(policy.min_duration_minutes, policy.max_duration_minutes + 1, policy.slot_minutes)
    )


def check_slot(
    policy: BookingPolicy,
    hours: DayHours,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    allow_current_slot: bool = False,
) -> None:
    """Raise the first rule of I3 that ``[start, end)`` breaks. The front desk may book the
    slot under way for a walk-in patron (``allow_current_slot``); patrons book ahead."""
    tz = hours.openings[0].start.tzinfo if hours.openings else None
    assert tz is None or isinstance(tz, ZoneInfo)
    if end <= start:
        raise DomainError("invalid_interval", _("The end must come after the start."))
    earliest = now - timedelta(minutes=policy.slot_minutes) if allow_current_slot else now
    if start <= earliest:
        raise DomainError("slot_in_past", _("This time slot has already started or passed."))
    if tz is None:
        raise DomainError(
            "outside_opening_hours",
            _("The library is closed on that day.")
            if not hours.exception_reason
            else _("The library is closed on that day: %(reason)s")
            % {"reason": hours.exception_reason},
        )
    local_now = now.astimezone(tz)
    if local_date(start, tz) > last_bookable_day(policy, local_now):
        raise DomainError(
            "beyond_horizon",
            ngettext(
                "Reservations open at most %(days)s day ahead.",
                "Reservations open at most %(days)s days ahead.",
                policy.horizon_days,
            )
            % {"days": policy.horizon_days},
        )
    opening = opening_containing(hours, start, end)
    if opening is None:
        raise DomainError(
            "outside_opening_hours", _("The library is not open for the whole of this slot.")
        )
    if not (
        is_on_grid(opening, start, policy.slot_minutes)
        and is_on_grid(opening, end, policy.slot_minutes)
    ):
        raise DomainError(
            "off_grid",
            ngettext(
                "Reservations start and end on steps of %(minutes)s minute.",
                "Reservations start and end on steps of %(minutes)s minutes.",
                policy.slot_minutes,
            )
            % {"minutes": policy.slot_minutes},
        )
    # In UTC: subtracting two datetimes of one zone would give wall-clock time on DST days.
    minutes = (end.astimezone(UTC) - start.astimezone(UTC)) // timedelta(minutes=1)
    if minutes < policy.min_duration_minutes:
        raise DomainError(
            "too_short",
            ngettext(
                "A reservation lasts at least %(minutes)s minute.",
                "A reservation lasts at least %(minutes)s minutes.",
                policy.min_duration_minutes,
            )
            % {"minutes": policy.min_duration_minutes},
        )
    if minutes > policy.max_duration_minutes:
        raise DomainError(
            "too_long",
            ngettext(
                "A reservation lasts at most %(minutes)s minute.",
                "A reservation lasts at most %(minutes)s minutes.",
                policy.max_duration_minutes,
            )
            % {"minutes": policy.max_duration_minutes},
        )


def allowed_domains(policy: BookingPolicy) -> list[str]:
    """The domains of ``allowed_email_domains``, lower-case, without "@"; empty: any address."""
    raw = policy.allowed_email_domains.replace(",", " ").lower().split()
    return [domain.lstrip("@").strip(".") for domain in raw if domain.lstrip("@").strip(".")]


def email_domain_allowed(policy: BookingPolicy, email: str) -> bool:
    """A domain admits its subdomains too (``etu.univ-example.fr`` under ``univ-example.fr``):
    a university's students and staff often have addresses under one of its subdomains."""
    domains = allowed_domains(policy)
    if not domains:
        return True
    domain = email.rpartition("@")[2].strip().lower().rstrip(".")
    return any(domain == allowed or domain.endswith(f".{allowed}") for allowed in domains)


def check_email_domain(policy: BookingPolicy, email: str) -> None:
    """Where booking is restricted to some e-mail domains (a university's own), refuse any
    other address, naming the allowed domains. The answer depends only on the address typed,
    never on whether it is a patron's: nothing is learnt about who books here. Every way of
    booking (the grid, the desk, the API, a waitlist or a lottery) calls this one check."""
    if email_domain_allowed(policy, email):
        return
    raise DomainError(
        "email_domain_not_allowed",
        _(
            "Booking here is reserved for addresses ending in %(domains)s: book with an "
            "address of that kind."
        )
        % {"domains": ", ".join(f"@{domain}" for domain in allowed_domains(policy))},
    )
