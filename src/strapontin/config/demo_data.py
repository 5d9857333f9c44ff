"""The demo's libraries: "Démo BU" (the guide's demo library), a science library, and a
campus library that opens its new days by lottery (fair opening).

Idempotent: running it again changes nothing that is already there.
"""

import random
from datetime import datetime, time, timedelta

from django.db import transaction

from strapontin.core.audit import log_action
from strapontin.core.clock import now
from strapontin.core.models import AuditEntry
from strapontin.reservations.models import (
    CheckinMethod,
    Patron,
    Reservation,
    ReservationState,
    WaitlistRequest,
)
from strapontin.venues.models import (
    Area,
    BookingPolicy,
    Establishment,
    Feature,
    OpeningHours,
    Resource,
    ResourceKind,
)
from strapontin.venues.policy import effective_policy
from strapontin.venues.schedule import opening_hours_of, slot_starts

FEATURES = [
    ("power", "Prise électrique", "Power socket"),
    ("window", "Près d'une fenêtre", "By a window"),
    ("quiet", "Zone silence", "Quiet zone"),
    ("accessible", "Accessible PMR", "Wheelchair accessible"),
    ("computer", "Ordinateur", "Computer"),
    ("lamp", "Lampe de bureau", "Desk lamp"),
    ("screen", "Écran de projection", "Display screen"),
    ("whiteboard", "Tableau blanc", "Whiteboard"),
]


def _features() -> dict[str, Feature]:
    found = {}
    for code, name_fr, name_en in FEATURES:
        feature, _created = Feature.objects.get_or_create(
            code=code, defaults={"name_fr": name_fr, "name_en": name_en}
        )
        found[code] = feature
    return found


def _hours(establishment: Establishment, days: range, opens: time, closes: time) -> None:
    if establishment.opening_hours.exists():
        return
    OpeningHours.objects.bulk_create(
        OpeningHours(establishment=establishment, weekday=d, opens=opens, closes=closes)
        for d in days
    )


def _seats(
    area: Area,
    count: int,
    features: dict[str, Feature],
    rng: random.Random,
    extra: tuple[str, ...] = (),
) -> None:
    for number in range(1, count + 1):
        place, created = Resource.objects.get_or_create(
            area=area, label=f"Place {number}", defaults={"position": number}
        )
        if created:
            chosen = {
                code
                for code in ("power", "window", "lamp", "computer")
                if rng.random() < {"power": 0.6, "window": 0.25, "lamp": 0.4, "computer": 0.1}[code]
            }
            chosen.update(extra)
            if number <= 2:
                chosen.add("accessible")
            place.features.set([features[c] for c in sorted(chosen)])


def _sample_reservation(
    establishment: Establishment,
    seat: Resource,
    patron: Patron,
    start: datetime,
    end: datetime,
    present: bool,
) -> None:
    """Seed data, not a transition; audited as seeded, so that `strapontin verify_data` reads
    its history as it reads any."""
    policy = effective_policy(establishment)
    started = present
    seeded = Reservation.objects.create(
        establishment=establishment,
        resource=seat,
        patron=patron,
        start=start,
        end=end,
        checkin_opens_at=start - timedelta(minutes=policy.checkin_opens_before_minutes),
        checkin_closes_at=min(start + timedelta(minutes=policy.checkin_closes_after_minutes), end),
        state=ReservationState.CHECKED_IN if started else ReservationState.CONFIRMED,
        created_at=now(),
        confirmed_at=now(),
        checked_in_at=start if started else None,
        checkin_method=CheckinMethod.DESK if started else "",
    )
    log_action(
        seeded,
        "reservation.seeded" if started else "reservation.seeded_confirmed",
        actor=None,
        establishment_id=establishment.pk,
        reason="demo data",
    )


def _patron_on_a_break(establishment: Establishment, seat: Resource, start: datetime) -> None:
    """Someone who validated presence and stepped out for a while: the grid and the desk show
    "en pause jusqu'à …" on that place (only while the library is open, and until the break
    ends: not back by then, the place goes back to the others like any other)."""
    policy = effective_policy(establishment)
    moment = now()
    until = moment + timedelta(minutes=min(20, policy.break_max_minutes))
    end = start + timedelta(hours=3)
    closing = next(
        (o.end for o in opening_hours_of(establishment, start.date()).openings if o.end > start),
        None,
    )
    if not policy.break_max_minutes or closing is None or min(end, closing) <= until:
        return
    patron, _created = Patron.objects.get_or_create(
        email="en-pause@demo.strapontin.localhost", defaults={"verified_at": moment}
    )
    _sample_reservation(establishment, seat, patron, start, min(end, closing), present=True)
    seeded = Reservation.objects.get(resource=seat, patron=patron, start=start)
    # A transition of the demo's own, through no service: seeded data, audited like the
    # real one so that `strapontin verify_data` reads it (integrity.TRANSITIONS).
    Reservation.objects.filter(pk=seeded.pk).update(
        state=ReservationState.ON_BREAK, break_ends_at=until
    )
    log_action(
        seeded,
        "reservation.break_started",
        actor=patron.email,
        establishment_id=establishment.pk,
        reason="demo data",
    )


def _past_presence(establishment: Establishment, rng: random.Random, weeks: int = 6) -> None:
    """Six weeks of validated presence, busier mid-day and early in the week, so that the
    establishment page has a forecast to show from the first run. Once: skipped when any
    reservation before today exists."""
    tz = establishment.tz
    today = now().astimezone(tz).date()
    first = today - timedelta(weeks=weeks)
    if Reservation.objects.filter(
        establishment=establishment, start__lt=datetime.combine(today, time(0), tzinfo=tz)
    ).exists():
        return
    seats = list(establishment.resources.filter(kind=ResourceKind.SEAT))
    patrons = [
        Patron.objects.get_or_create(
            email=f"habitue{n}@demo.strapontin.localhost", defaults={"verified_at": now()}
        )[0]
        for n in range(1, 81)
    ]
    rows = []
    for offset in range((today - first).days):
        day = first + timedelta(days=offset)
        busy = 0.45 - 0.05 * day.weekday()
        for opening in opening_hours_of(establishment, day).openings:
            hour = opening.start
            while hour + timedelta(hours=2) <= opening.end:
                # The afternoon peak: fewer people at opening and in the evening.
                peak = 1 - abs(hour.hour - 14) / 8
                used = [seat for seat in seats if rng.random() < busy * peak / 1.2]
                # One seat and one patron at most once per block: no overlap (I1, I2).
                for seat, patron in zip(used, rng.sample(patrons, len(patrons)), strict=False):
                    rows.append(
                        Reservation(
                            establishment=establishment,
                            resource=seat,
                            patron=patron,
                            start=hour,
                            end=hour + timedelta(hours=2),
                            state=ReservationState.CHECKED_IN,
                            created_at=hour - timedelta(days=1),
                            confirmed_at=hour - timedelta(days=1),
                            checkin_opens_at=hour - timedelta(minutes=15),
                            checkin_closes_at=hour + timedelta(minutes=30),
                            checked_in_at=hour + timedelta(minutes=rng.randrange(0, 20)),
                            checkin_method=CheckinMethod.QR,
                        )
                    )
                hour += timedelta(hours=2)
    created = Reservation.objects.bulk_create(rows, batch_size=500)
    AuditEntry.objects.bulk_create(
        (
            AuditEntry(
                created_at=now(),
                action="reservation.seeded",
                actor_label="system",
                establishment_id=establishment.pk,
                subject_type=Reservation._meta.label_lower,
                subject_id=reservation.pk,
                reason="demo data",
            )
            for reservation in created
        ),
        batch_size=500,
    )


def _sample_reservations(establishment: Establishment, rng: random.Random) -> None:
    """Some of today's and tomorrow's places already taken, so the grid looks lived-in, and a
    few patrons arriving now, so that the front desk has presence to validate."""
    tz = establishment.tz
    today = now().astimezone(tz).date()
    policy = effective_policy(establishment)
    seats = list(establishment.resources.filter(kind=ResourceKind.SEAT))
    for day in (today, today + timedelta(days=1)):
        day_start = min(
            (o.start for o in opening_hours_of(establishment, day).openings), default=None
        )
        if (
            day_start is None
            or Reservation.objects.filter(
                establishment=establishment, start__date=day_start.date()
            ).exists()
        ):
            continue
        starts = [
            s
            for o in opening_hours_of(establishment, day).openings
            for s in slot_starts(o, policy.slot_minutes)
        ]
        sampled = rng.sample(seats, k=len(seats) // 3)
        for index, seat in enumerate(sampled):
            patron, _created = Patron.objects.get_or_create(
                email=f"lecteur{index + 1}@demo.strapontin.localhost",
                defaults={"verified_at": now()},
            )
            first = rng.randrange(0, max(len(starts) - 4, 1))
            start = starts[first]
            end = start + timedelta(minutes=rng.choice([60, 120, 180]))
            # Already under way: present (the sweeps would otherwise turn it into a no-show at
            # once). Still to come: confirmed, for the desk to validate or cancel.
            _sample_reservation(establishment, seat, patron, start, end, present=start <= now())
        if day != today:
            continue
        closes_after = timedelta(minutes=policy.checkin_closes_after_minutes)
        arriving = next((s for s in starts if s + closes_after > now()), None)
        if arriving is None:
            continue
        closing = next(
            o.end for o in opening_hours_of(establishment, day).openings if o.end > arriving
        )
        free = [seat for seat in seats if seat not in sampled]
        arrivals = rng.sample(free, k=min(4, len(free)))
        under_way = [s for s in starts if s <= now()]
        if under_way and len(arrivals) == 4:
            _patron_on_a_break(establishment, arrivals.pop(), under_way[-1])
        for index, seat in enumerate(arrivals[:3]):
            patron, _created = Patron.objects.get_or_create(
                email=f"arrivee{index + 1}@demo.strapontin.localhost",
                defaults={"verified_at": now()},
            )
            end = min(arriving + timedelta(minutes=max(policy.min_duration_minutes, 120)), closing)
            _sample_reservation(establishment, seat, patron, arriving, end, present=False)


@transaction.atomic
def seed_demo() -> list[Establishment]:
    rng = random.Random(2021)
    features = _features()

    bu, _created = Establishment.objects.get_or_create(
        slug="demo-bu",
        defaults={
            "name": "Démo BU",
            "organisation": "Université de démonstration",
            "address": "1 place de la Bibliothèque, 75005 Paris",
            "description": "La bibliothèque universitaire de démonstration du guide.",
            "checkin_code": "DEMOBU",
        },
    )
    _hours(bu, range(0, 6), time(8), time(22))
    BookingPolicy.objects.get_or_create(establishment=bu, area=None)
    floors = []
    for position, name in enumerate(["Étage 1", "Étage 2", "Étage 3"], start=1):
        area, _created = Area.objects.get_or_create(
            establishment=bu, name=name, defaults={"position": position}
        )
        floors.append(area)
    _seats(floors[0], 40, features, rng)
    _seats(floors[1], 40, features, rng)
    _seats(floors[2], 30, features, rng, extra=("quiet",))
    for number in range(1, 5):
        room, created = Resource.objects.get_or_create(
            area=floors[2],
            label=f"Salle de groupe {number}",
            defaults={
                "kind": ResourceKind.ROOM,
                "capacity": 4 + 2 * (number % 2),
                "position": 100 + number,
            },
        )
        if created:
            room.features.set(
                [features["whiteboard"], features["power"]]
                + ([features["screen"]] if number <= 2 else [])
            )

    sciences, _created = Establishment.objects.get_or_create(
        slug="bibliotheque-sciences",
        defaults={
            "name": "Bibliothèque des Sciences",
            "organisation": "Université de démonstration",
            "address": "4 avenue des Sciences, 75013 Paris",
            "description": "Salle de lecture et salles de travail en groupe, réservées aux "
            "étudiants et personnels de l'université (adresses @univ-demo.fr).",
            "checkin_code": "SCIENC",
        },
    )
    _hours(sciences, range(0, 5), time(9), time(19))
    BookingPolicy.objects.get_or_create(
        establishment=sciences,
        area=None,
        defaults={
            "slot_minutes": 60,
            "min_duration_minutes": 60,
            "max_duration_minutes": 180,
            # A domain-restricted library: students at etu.univ-demo.fr book too (subdomain).
            "allowed_email_domains": "univ-demo.fr",
        },
    )
    reading, _created = Area.objects.get_or_create(
        establishment=sciences, name="Salle de lecture", defaults={"position": 1}
    )
    _seats(reading, 24, features, rng)

    _past_presence(bu, rng)
    campus = _fair_opening_library(features, rng)

    _sample_reservations(bu, rng)
    _sample_waitlist(bu)
    return [bu, sciences, campus]


def _fair_opening_library(features: dict[str, Feature], rng: random.Random) -> Establishment:
    """A library whose new day opens by lottery (fair opening). Its day opens at the minute
    the demo was first seeded, for 15 minutes, so that a newcomer finds the window open:
    a "Réserver" on the grid's last day asks for the place, and the worker draws at the
    window's close. A manager (demo/demo) moves the hour in the desk to try again."""
    campus, _created = Establishment.objects.get_or_create(
        slug="bu-campus",
        defaults={
            "name": "BU Campus (ouverture équitable)",
            "organisation": "Université de démonstration",
            "address": "2 allée du Campus, 69100 Villeurbanne",
            "description": (
                "Chaque nouveau jour de réservation ouvre par un tirage au sort\u00a0: "
                "les demandes des premières minutes ont toutes la même chance."
            ),
            "checkin_code": "CAMPUS",
        },
    )
    _hours(campus, range(0, 7), time(8), time(22))
    opens = now().astimezone(campus.tz).time().replace(second=0, microsecond=0)
    BookingPolicy.objects.get_or_create(
        establishment=campus,
        area=None,
        defaults={
            "fair_opening": True,
            "fair_window_minutes": 15,
            "day_opens_at": opens,
            "slot_minutes": 60,
            "min_duration_minutes": 60,
            "max_duration_minutes": 240,
        },
    )
    hall, _created = Area.objects.get_or_create(
        establishment=campus, name="Salle de lecture", defaults={"position": 1}
    )
    _seats(hall, 12, features, rng)
    return campus


def _sample_waitlist(establishment: Establishment) -> None:
    """Every group room taken on the next open day, 14:00–16:00, and two patrons waiting for
    one: cancel one of those reservations at the desk, and the first in line is offered it
    (see the demo's mailbox); a new patron can join the line from the grid."""
    if WaitlistRequest.objects.filter(establishment=establishment).exists():
        return
    tz = establishment.tz
    today = now().astimezone(tz).date()
    for ahead in range(1, 8):
        day = today + timedelta(days=ahead)
        start = datetime.combine(day, time(14), tzinfo=tz)
        end = start + timedelta(hours=2)
        if any(
            o.start <= start and end <= o.end for o in opening_hours_of(establishment, day).openings
        ):
            break
    else:
        return
    rooms = establishment.resources.filter(kind=ResourceKind.ROOM).order_by("position")
    for number, room in enumerate(rooms, start=1):
        if Reservation.objects.filter(resource=room, start__lt=end, end__gt=start).exists():
            continue
        patron, _created = Patron.objects.get_or_create(
            email=f"groupe{number}@demo.strapontin.localhost", defaults={"verified_at": now()}
        )
        _sample_reservation(establishment, room, patron, start, end, present=False)
    for number in (1, 2):
        patron, _created = Patron.objects.get_or_create(
            email=f"attente{number}@demo.strapontin.localhost", defaults={"verified_at": now()}
        )
        wish = WaitlistRequest.objects.create(
            patron=patron,
            establishment=establishment,
            kind=ResourceKind.ROOM,
            start=start,
            end=end,
            created_at=now() - timedelta(minutes=10 * (3 - number)),
        )
        log_action(
            wish,
            "waitlist.requested",
            actor=None,
            establishment_id=establishment.pk,
            reason="demo data",
        )
