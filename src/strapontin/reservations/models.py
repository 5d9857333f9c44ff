"""Patrons, reservations and what they are sent.

``Reservation.state`` is only ever assigned in ``services.py`` (a test enforces it): every
transition is a service function that also writes its audit entry and its e-mails (I4).
"""

import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from strapontin.venues.models import Area, Establishment, Resource

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_reference() -> str:
    """A short code patrons and desk staff can read aloud (not a secret)."""
    # One read of the system's randomness, not eight: the 32 letters divide 256, so each
    # byte picks each letter as often.
    letters = len(REFERENCE_ALPHABET)
    return "".join(REFERENCE_ALPHABET[byte % letters] for byte in secrets.token_bytes(8))


#: Domains where dots in the local part do not matter (the same inbox), and their alias.
DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def canonical_email(email: str) -> str:
    """The inbox behind an address, for counting limits: ``Alice.B+tag@gmail.com`` and
    ``alice.b@gmail.com`` are one person. Never used to send: the patron's own address is."""
    local, _sep, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    domain = DOTLESS_DOMAINS.get(domain, domain)
    if domain == "gmail.com":
        local = local.replace(".", "")
    return f"{local}@{domain}"


class Patron(models.Model):
    """Someone who reserves, known by an e-mail address only (stored lower-case).

    ``canonical_email`` groups the aliases of one inbox (``name+tag@``, dots at gmail.com):
    limits count them as one patron; e-mails still go to ``email``."""

    email = models.EmailField(_("e-mail address"), max_length=254, unique=True)
    canonical_email = models.CharField(max_length=254, db_index=True, editable=False, default="")
    verified_at = models.DateTimeField(_("address verified"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=8, default="fr")
    created_at = models.DateTimeField(_("first seen"), auto_now_add=True)
    #: Set when the address was erased (retention period over, or at the patron's request).
    anonymised_at = models.DateTimeField(_("anonymised"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("patron")
        verbose_name_plural = _("patrons")
        ordering = ["email"]

    def __str__(self) -> str:
        return self.email

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.canonical_email = canonical_email(self.email) if self.email else ""
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "email" in update_fields:
            kwargs["update_fields"] = {*update_fields, "canonical_email"}
        super().save(*args, **kwargs)

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None


class ReservationState(models.TextChoices):
    PENDING = "pending", _("Awaiting confirmation")
    CONFIRMED = "confirmed", _("Confirmed")
    CHECKED_IN = "checked_in", _("Presence validated")
    RELEASED = "released", _("Place released")
    EXPIRED = "expired", _("Cancelled: not confirmed in time")
    NO_SHOW = "no_show", _("Cancelled: presence not validated")
    CANCELLED = "cancelled", _("Cancelled")
    #: A freed place held for one patron of the waitlist (or of a closure's rebooking) until
    #: ``offer_deadline``; taking it confirms it, letting it lapse offers it to the next.
    OFFERED = "offered", _("Offered, to be taken")
    #: A checked-in patron paused until ``break_ends_at``; not back by then, the place goes.
    ON_BREAK = "on_break", _("On a break")


#: States in which a reservation holds its place (I1).
HOLDING_STATES = (
    ReservationState.PENDING,
    ReservationState.CONFIRMED,
    ReservationState.CHECKED_IN,
    ReservationState.OFFERED,
    ReservationState.ON_BREAK,
)

#: Each holding state that lapses, with the field of its deadline: past it, the reservation
#: no longer holds its place (I5), whether or not a sweep has moved it yet.
DEADLINE_FIELDS = {
    ReservationState.PENDING: "confirmation_deadline",
    ReservationState.CONFIRMED: "checkin_closes_at",
    ReservationState.OFFERED: "offer_deadline",
    ReservationState.ON_BREAK: "break_ends_at",
}


class CheckinMethod(models.TextChoices):
    QR = "qr", _("QR code at the entrance")
    CODE = "code", _("Establishment code")
    KIOSK = "kiosk", _("Entrance screen code")
    DESK = "desk", _("Front desk")


class CancelCause(models.TextChoices):
    PATRON = "patron", _("Cancelled by you")
    STAFF = "staff", _("Cancelled by the library staff")
    #: The place was released because the patron was not back when their break ended.
    BREAK_OVER = "break", _("Not back from a break in time")


class Reservation(models.Model):
    # Unique by a constraint, not ``unique=True``: on PostgreSQL that also builds a second,
    # ``LIKE`` index, which nothing searches and every booking writes to a random page of.
    reference = models.CharField(
        _("reference"), max_length=12, default=new_reference, editable=False
    )
    establishment = models.ForeignKey(
        Establishment,
        on_delete=models.PROTECT,
        related_name="reservations",
        editable=False,
        db_index=False,
    )
    # Indexed by the composite indexes below, which begin with them.
    resource = models.ForeignKey(
        Resource,
        on_delete=models.PROTECT,
        related_name="reservations",
        verbose_name=_("place"),
        db_index=False,
    )
    patron = models.ForeignKey(
        Patron,
        on_delete=models.PROTECT,
        related_name="reservations",
        verbose_name=_("patron"),
        db_index=False,
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    state = models.CharField(
        _("state"), max_length=12, choices=ReservationState.choices, editable=False
    )
    language = models.CharField(_("language"), max_length=8, default="fr")
    created_at = models.DateTimeField(_("booked at"), editable=False)
    confirmation_deadline = models.DateTimeField(
        _("confirm before"), null=True, blank=True, editable=False
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True, editable=False)
    checkin_opens_at = models.DateTimeField(_("check-in opens"), editable=False)
    checkin_closes_at = models.DateTimeField(_("check-in closes"), editable=False)
    checked_in_at = models.DateTimeField(
        _("presence validated at"), null=True, blank=True, editable=False
    )
    checkin_method = models.CharField(
        _("validated by"),
        max_length=12,
        choices=CheckinMethod.choices,
        blank=True,
        editable=False,
    )
    offer_deadline = models.DateTimeField(_("held until"), null=True, blank=True, editable=False)
    #: While on a break, when it ends; kept afterwards, so that a reservation has one break.
    break_ends_at = models.DateTimeField(
        _("on a break until"), null=True, blank=True, editable=False
    )
    reminder_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True, editable=False)
    cancel_cause = models.CharField(
        _("cancelled by"), max_length=10, choices=CancelCause.choices, blank=True, editable=False
    )
    cancel_reason = models.TextField(_("reason"), blank=True, editable=False)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        db_index=False,  # indexed below, where set
    )

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        ordering = ["start", "resource_id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start__lt=models.F("end")), name="reservation_start_before_end"
            ),
            models.UniqueConstraint(fields=["reference"], name="reservation_reference_unique"),
        ]
        # The day's availability starts with time: an index that begins with ``start``
        # serves "every reservation of this day", which (resource, range) cannot. The checks
        # of a booking look for reservations of a place or a patron that end after a moment:
        # (…, end) reads only those, not years of history, and serves every other look-up by
        # patron. Each index is a write of every booking, at a random page once the table holds
        # years: none is kept that another serves (issue 7, growth). The sweeps' indexes hold
        # only the rows in the state each sweep looks for, so a booking writes to one of them
        # at most and years of ended reservations are in none.
        indexes = [
            models.Index(fields=["establishment", "start"], name="reservation_day_idx"),
            models.Index(fields=["resource", "end"], name="reservation_place_end_idx"),
            models.Index(fields=["patron", "end"], name="reservation_patron_end_idx"),
            models.Index(
                fields=["confirmation_deadline"],
                condition=models.Q(state=ReservationState.PENDING),
                name="reservation_unconfirmed_idx",
            ),
            models.Index(
                fields=["checkin_closes_at"],
                condition=models.Q(state=ReservationState.CONFIRMED),
                name="reservation_noshow_idx",
            ),
            models.Index(
                fields=["break_ends_at"],
                condition=models.Q(state=ReservationState.ON_BREAK),
                name="reservation_break_idx",
            ),
            models.Index(
                fields=["offer_deadline"],
                condition=models.Q(state=ReservationState.OFFERED),
                name="reservation_offer_idx",
            ),
            models.Index(
                fields=["cancelled_by"],
                condition=models.Q(cancelled_by__isnull=False),
                name="reservation_cancelled_by_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.resource} {self.start:%Y-%m-%d %H:%M}"

    @property
    def is_holding(self) -> bool:
        return self.state in HOLDING_STATES


class Suspension(models.Model):
    """Booking suspended at one establishment after repeated no-shows; staff can lift it."""

    patron = models.ForeignKey(Patron, on_delete=models.CASCADE, related_name="suspensions")
    establishment = models.ForeignKey(
        Establishment, on_delete=models.CASCADE, related_name="suspensions"
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    no_shows = models.PositiveSmallIntegerField(_("no-shows counted"))
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True, editable=False)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    class Meta:
        verbose_name = _("suspension")
        verbose_name_plural = _("suspensions")
        ordering = ["-ends_at"]
        indexes = [models.Index(fields=["patron", "establishment", "ends_at"])]

    def __str__(self) -> str:
        return f"{self.patron} @ {self.establishment} until {self.ends_at:%Y-%m-%d}"


class TokenPurpose(models.TextChoices):
    CONFIRM = "confirm", _("Confirm a reservation")
    CANCEL = "cancel", _("Cancel a reservation")
    SIGN_IN = "sign_in", _("Sign in to my reservations")
    #: Given by the API to whoever booked, to read and act on that one reservation.
    API = "api", _("Manage a reservation through the API")
    #: Confirms a request for a fair-opening draw (reservations/lottery.py).
    DRAW = "draw", _("Confirm a request for a draw")
    #: Take (or decline) a place held for the patron: a waitlist offer, or a rebooking.
    OFFER = "offer", _("Take a place held for you")
    WAITLIST = "waitlist", _("Leave the waitlist")


class AccessToken(models.Model):
    """A single-purpose link sent by e-mail. Only the SHA-256 of the token is stored."""

    purpose = models.CharField(max_length=10, choices=TokenPurpose.choices)
    token_hash = models.CharField(max_length=64)  # unique: see Meta (no LIKE index)
    patron = models.ForeignKey(Patron, on_delete=models.CASCADE, related_name="tokens")
    reservation = models.ForeignKey(
        Reservation, on_delete=models.CASCADE, null=True, blank=True, related_name="tokens"
    )
    draw_request = models.ForeignKey(
        "DrawRequest", on_delete=models.CASCADE, null=True, blank=True, related_name="tokens"
    )
    waitlist_request = models.ForeignKey(
        "WaitlistRequest", on_delete=models.CASCADE, null=True, blank=True, related_name="tokens"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"])]
        constraints = [
            models.UniqueConstraint(fields=["token_hash"], name="access_token_hash_unique")
        ]

    def __str__(self) -> str:
        return f"{self.purpose} token for {self.patron}"


class WaitlistState(models.TextChoices):
    WAITING = "waiting", _("Waiting for a place")
    OFFERED = "offered", _("A place is held for you")
    BOOKED = "booked", _("Place taken")
    #: The held place was not taken in time (or was declined): the request has had its turn.
    LAPSED = "lapsed", _("Held place not taken")
    CANCELLED = "cancelled", _("Left the waitlist")
    #: Its time began without a place freeing up.
    EXPIRED = "expired", _("No place freed up in time")


#: States in which a request is still in line or has a place held.
LIVE_WAITLIST_STATES = (WaitlistState.WAITING, WaitlistState.OFFERED)


class WaitlistOrigin(models.TextChoices):
    PATRON = "patron", _("Asked by the patron")
    #: Made on the patron's behalf when a closure cancelled ``replaces``: an equivalent place
    #: is offered at once, and nothing else if it is not taken.
    REBOOKING = "rebooking", _("Rebooking after a closure")


class WaitlistRequest(models.Model):
    """A patron's wish for a place (establishment, time, optional area, kind and features),
    served first come first served when a matching place frees up: the place is then held for
    them as an offered reservation (``offer``) for a few minutes."""

    reference = models.CharField(
        _("reference"), max_length=12, unique=True, default=new_reference, editable=False
    )
    patron = models.ForeignKey(Patron, on_delete=models.CASCADE, related_name="waitlist_requests")
    establishment = models.ForeignKey(
        Establishment, on_delete=models.CASCADE, related_name="waitlist_requests"
    )
    area = models.ForeignKey(
        Area, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(_("kind of place"), max_length=10, blank=True)
    #: Feature codes the place must all have.
    features = models.JSONField(_("features"), default=list, blank=True)
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    state = models.CharField(
        _("state"), max_length=10, choices=WaitlistState.choices, default=WaitlistState.WAITING
    )
    origin = models.CharField(
        max_length=10, choices=WaitlistOrigin.choices, default=WaitlistOrigin.PATRON
    )
    language = models.CharField(_("language"), max_length=8, default="fr")
    created_at = models.DateTimeField(_("asked at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    offer = models.ForeignKey(
        Reservation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    replaces = models.ForeignKey(
        Reservation, on_delete=models.SET_NULL, null=True, blank=True, related_name="rebookings"
    )

    class Meta:
        verbose_name = _("waitlist request")
        verbose_name_plural = _("waitlist requests")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start__lt=models.F("end")), name="waitlist_start_before_end"
            ),
        ]
        # Fair order: the waiting requests of an establishment, oldest first.
        indexes = [
            models.Index(fields=["establishment", "state", "created_at"], name="waitlist_line_idx"),
            models.Index(fields=["state", "start"], name="waitlist_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.establishment} {self.start:%Y-%m-%d %H:%M}"


class OutboxState(models.TextChoices):
    PENDING = "pending", _("Waiting")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OutboxMessage(models.Model):
    """An e-mail written in the transaction that caused it; the worker sends it after commit."""

    cause = models.CharField(max_length=80)
    reservation = models.ForeignKey(
        Reservation, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    to = models.EmailField(max_length=254)
    subject = models.CharField(max_length=250)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    attachments = models.JSONField(default=list, blank=True)
    #: Set while the message waits to be written, from its reservation, by the worker that
    #: sends it (see ``notifications.queue_written_at_sending``); empty once written.
    writer = models.CharField(max_length=40, blank=True)
    state = models.CharField(max_length=10, choices=OutboxState.choices, default="pending")
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing e-mail")
        verbose_name_plural = _("outgoing e-mails")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.cause} → {self.to}"


class DemoMail(models.Model):
    """An e-mail the demo 'sent' without a mail server, shown in the browser instead."""

    sent_at = models.DateTimeField(auto_now_add=True)
    to = models.CharField(max_length=500)
    subject = models.CharField(max_length=250)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    attachment_names = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-sent_at", "-id"]

    def __str__(self) -> str:
        return self.subject


class Draw(models.Model):
    """The fair opening of one establishment's day: the requests collected in its window are
    allotted in the order a PRNG seeded with ``seed`` gives (reservations/lottery.py).

    ``commitment`` (the seed's SHA-256) is public from the first request on; ``seed`` is
    published once the draw is done, so anyone can check that it matches and re-run it."""

    establishment = models.ForeignKey(
        Establishment, on_delete=models.CASCADE, related_name="draws", editable=False
    )
    day = models.DateField(_("day drawn"))
    opens_at = models.DateTimeField(_("requests from"))
    closes_at = models.DateTimeField(_("drawn at"))
    seed = models.CharField(max_length=64, editable=False)
    commitment = models.CharField(max_length=64, editable=False)
    completed_at = models.DateTimeField(_("done at"), null=True, blank=True, editable=False)
    #: The requests' references in the drawn order, each with its outcome, as published.
    results = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        verbose_name = _("draw")
        verbose_name_plural = _("draws")
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["establishment", "day"], name="draw_one_per_day")
        ]
        indexes = [models.Index(fields=["completed_at", "closes_at"], name="draw_due_idx")]

    def __str__(self) -> str:
        return f"{self.establishment} {self.day}"


class DrawRequestState(models.TextChoices):
    #: The address is not proven yet: the e-mail's link must be opened before the draw.
    UNCONFIRMED = "unconfirmed", _("Awaiting confirmation")
    ENTERED = "entered", _("Entered in the draw")
    WON = "won", _("Place allotted")
    LOST = "lost", _("No place allotted")
    #: Not confirmed before the draw, or withdrawn (the patron's data erased).
    VOID = "void", _("Not entered")


class DrawRequest(models.Model):
    """A patron's wish for a place in a fair-opening draw: one per inbox per day."""

    reference = models.CharField(
        _("reference"), max_length=12, unique=True, default=new_reference, editable=False
    )
    draw = models.ForeignKey(Draw, on_delete=models.CASCADE, related_name="requests")
    patron = models.ForeignKey(Patron, on_delete=models.PROTECT, related_name="draw_requests")
    resource = models.ForeignKey(Resource, on_delete=models.PROTECT, related_name="+")
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    #: Another place of the same floor and kind will do if the wished one is taken.
    flexible = models.BooleanField(_("or another place alike"), default=True)
    language = models.CharField(max_length=8, default="fr")
    state = models.CharField(max_length=12, choices=DrawRequestState.choices, editable=False)
    created_at = models.DateTimeField(editable=False)
    entered_at = models.DateTimeField(null=True, blank=True, editable=False)
    position = models.PositiveIntegerField(null=True, blank=True, editable=False)
    outcome = models.CharField(max_length=40, blank=True, editable=False)
    reservation = models.OneToOneField(
        Reservation,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="draw_request",
        editable=False,
    )

    class Meta:
        verbose_name = _("draw request")
        verbose_name_plural = _("draw requests")
        ordering = ["draw", "position", "pk"]
        indexes = [models.Index(fields=["draw", "state"], name="draw_request_state_idx")]

    def __str__(self) -> str:
        return f"{self.reference} {self.draw}"
