"""Places and their rules: establishments, areas, resources, hours, closures, policy."""

import secrets
from datetime import time
from zoneinfo import ZoneInfo, available_timezones

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from strapontin.core.validators import validate_single_line

CHECKIN_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_checkin_code() -> str:
    """Six characters without look-alikes (0/O, 1/I), easy to type from a poster."""
    return "".join(secrets.choice(CHECKIN_CODE_ALPHABET) for _ in range(6))


def new_checkin_secret() -> str:
    return secrets.token_hex(32)


def new_rules_version() -> str:
    """Random, not a counter: a new establishment never meets a cache entry of an older one
    that had its id (SQLite reuses the ids of rolled-back rows)."""
    return secrets.token_hex(8)


#: First path segments the site uses itself: an establishment cannot be called so.
RESERVED_SLUGS = frozenset(
    {
        "reservation",
        "mes-reservations",
        "r",
        "demo",
        "desk",
        "admin",
        "api",
        "static",
        "i18n",
        "healthz",
        "kiosk",
        "media",
        "manifest.json",
        "sw.js",
        "favicon.ico",
        "hors-ligne",
        "confidentialite",
    }
)


def validate_slug_not_reserved(value: str) -> None:
    if value in RESERVED_SLUGS:
        raise ValidationError(_("This short name is used by the site itself."))


def validate_timezone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(_("Unknown time zone: %(tz)s"), params={"tz": value})


class CheckinMode(models.TextChoices):
    STATIC = "static", _("The printed code only")
    ROTATING = "rotating", _("The entrance screen's changing code only")
    BOTH = "both", _("Both")


class Establishment(models.Model):
    name = models.CharField(_("name"), max_length=120, validators=[validate_single_line])
    slug = models.SlugField(
        _("short name in addresses"),
        max_length=60,
        unique=True,
        validators=[validate_slug_not_reserved],
    )
    organisation = models.CharField(
        _("organisation"), max_length=120, blank=True, validators=[validate_single_line]
    )
    timezone = models.CharField(
        _("time zone"), max_length=60, default="Europe/Paris", validators=[validate_timezone]
    )
    address = models.CharField(
        _("address"), max_length=250, blank=True, validators=[validate_single_line]
    )
    description = models.TextField(_("description"), blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    languages = models.CharField(
        _("languages"), max_length=20, default="fr,en", help_text=_("Comma-separated codes.")
    )
    checkin_code = models.CharField(
        _("check-in code"), max_length=12, unique=True, default=new_checkin_code
    )
    checkin_secret = models.CharField(max_length=64, default=new_checkin_secret, editable=False)
    checkin_mode = models.CharField(
        _("check-in codes accepted"),
        max_length=10,
        choices=CheckinMode.choices,
        default=CheckinMode.BOTH,
    )
    kiosk_key_hash = models.CharField(max_length=64, blank=True, editable=False)
    #: Changes whenever its opening hours, closures or booking policies change (see
    #: venues/rules.py): each process keeps those, read once, under this version.
    rules_version = models.CharField(max_length=16, default=new_rules_version, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    retention_months = models.PositiveSmallIntegerField(
        _("keep patrons' addresses for (months)"),
        default=12,
        validators=[MinValueValidator(1)],
        help_text=_(
            "After their last reservation here, a patron's address is anonymised; the "
            "statistics stay as they were."
        ),
    )

    class Meta:
        verbose_name = _("establishment")
        verbose_name_plural = _("establishments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Area(models.Model):
    """A floor or a zone, shown in the order staff choose."""

    establishment = models.ForeignKey(
        Establishment,
        on_delete=models.CASCADE,
        related_name="areas",
        verbose_name=_("establishment"),
    )
    name = models.CharField(_("name"), max_length=80, validators=[validate_single_line])
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("floor or zone")
        verbose_name_plural = _("floors and zones")
        ordering = ["establishment", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["establishment", "name"], name="area_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class Feature(models.Model):
    """Something a place offers (power socket, window, …), named in both languages."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_fr = models.CharField(_("name (French)"), max_length=80, validators=[validate_single_line])
    name_en = models.CharField(
        _("name (English)"), max_length=80, validators=[validate_single_line]
    )

    class Meta:
        verbose_name = _("feature")
        verbose_name_plural = _("features")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "fr").startswith("en") else self.name_fr


class ResourceKind(models.TextChoices):
    SEAT = "seat", _("Seat")
    ROOM = "room", _("Group room")


class Resource(models.Model):
    """A bookable place: a seat or a room."""

    establishment = models.ForeignKey(
        Establishment, on_delete=models.CASCADE, related_name="resources", editable=False
    )
    area = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="resources", verbose_name=_("floor or zone")
    )
    label = models.CharField(_("label"), max_length=80, validators=[validate_single_line])
    kind = models.CharField(
        _("kind of place"), max_length=10, choices=ResourceKind.choices, default=ResourceKind.SEAT
    )
    capacity = models.PositiveSmallIntegerField(
        _("capacity"), default=1, validators=[MinValueValidator(1)]
    )
    features = models.ManyToManyField(Feature, blank=True, verbose_name=_("features"))
    position = models.PositiveIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("bookable"), default=True)

    class Meta:
        verbose_name = _("place")
        verbose_name_plural = _("places")
        ordering = ["area__position", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["area", "label"], name="resource_unique_label")
        ]
        indexes = [models.Index(fields=["establishment", "is_active"])]

    def __str__(self) -> str:
        return f"{self.area.name} - {self.label}"

    def save(self, *args: object, **kwargs: object) -> None:
        # The establishment is denormalised from the area for one-table availability queries.
        self.establishment_id = self.area.establishment_id
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class OpeningHours(models.Model):
    """One weekly opening interval in local time; a day may have several."""

    establishment = models.ForeignKey(
        Establishment, on_delete=models.CASCADE, related_name="opening_hours"
    )
    weekday = models.PositiveSmallIntegerField(_("day"), choices=Weekday.choices)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))

    class Meta:
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        ordering = ["establishment", "weekday", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(opens__lt=models.F("closes")), name="hours_opens_before_closes"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class ScheduleException(models.Model):
    """A dated closure, or special hours that replace the week's for that day."""

    establishment = models.ForeignKey(
        Establishment, on_delete=models.CASCADE, related_name="schedule_exceptions"
    )
    area = models.ForeignKey(
        Area,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="schedule_exceptions",
        verbose_name=_("only this floor or zone"),
    )
    date = models.DateField(_("date"))
    is_closed = models.BooleanField(_("closed all day"), default=True)
    opens = models.TimeField(_("opens"), null=True, blank=True)
    closes = models.TimeField(_("closes"), null=True, blank=True)
    reason = models.CharField(
        _("reason"), max_length=200, blank=True, validators=[validate_single_line]
    )

    class Meta:
        verbose_name = _("closure or special hours")
        verbose_name_plural = _("closures and special hours")
        ordering = ["establishment", "date", "opens"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_closed=True)
                | models.Q(opens__isnull=False, closes__isnull=False, opens__lt=models.F("closes")),
                name="exception_closed_or_hours",
            )
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.reason}"


class ConfirmationMode(models.TextChoices):
    """A "new device" mode used to exist; it became the first one. A booking is spared the
    e-mail only when its requester proved the address (see ``_needs_confirmation``), and on a
    browser or app that never did, every booking is a first one."""

    FIRST_RESERVATION = "first", _("Until the address is proven on that browser or app")
    ALWAYS = "always", _("Every reservation")


class BookingPolicy(models.Model):
    """The booking rules of an establishment, or of one area when it overrides them."""

    establishment = models.ForeignKey(
        Establishment, on_delete=models.CASCADE, related_name="policies"
    )
    area = models.OneToOneField(
        Area,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="policy",
        verbose_name=_("only for this floor or zone"),
    )
    slot_minutes = models.PositiveSmallIntegerField(
        _("slot length (minutes)"), default=30, validators=[MinValueValidator(5)]
    )
    min_duration_minutes = models.PositiveSmallIntegerField(
        _("minimum duration (minutes)"), default=60, validators=[MinValueValidator(5)]
    )
    max_duration_minutes = models.PositiveSmallIntegerField(
        _("maximum duration (minutes)"), default=240, validators=[MinValueValidator(5)]
    )
    horizon_days = models.PositiveSmallIntegerField(_("bookable days ahead"), default=7)
    day_opens_at = models.TimeField(
        _("hour at which the last day opens for booking"), default=time(0, 0)
    )
    max_per_day = models.PositiveSmallIntegerField(_("reservations per patron per day"), default=2)
    max_per_week = models.PositiveSmallIntegerField(
        _("reservations per patron per week"), default=10
    )
    confirmation_deadline_minutes = models.PositiveSmallIntegerField(
        _("time to confirm (minutes)"), default=120, validators=[MinValueValidator(1)]
    )
    confirmation_mode = models.CharField(
        _("ask for confirmation"),
        max_length=10,
        choices=ConfirmationMode.choices,
        default=ConfirmationMode.FIRST_RESERVATION,
    )
    max_pending_per_patron = models.PositiveSmallIntegerField(
        _("reservations awaiting confirmation per address"),
        default=2,
        validators=[MinValueValidator(1)],
        help_text=_(
            "Unconfirmed reservations one address may hold at once: without it, anyone could "
            "hold places with addresses that will never confirm."
        ),
    )
    checkin_opens_before_minutes = models.PositiveSmallIntegerField(
        _("check-in opens before the start (minutes)"), default=15
    )
    checkin_closes_after_minutes = models.PositiveSmallIntegerField(
        _("check-in closes after the start (minutes)"), default=30
    )
    noshow_limit = models.PositiveSmallIntegerField(_("no-shows before suspension"), default=3)
    noshow_period_days = models.PositiveSmallIntegerField(_("counted over (days)"), default=30)
    noshow_suspension_days = models.PositiveSmallIntegerField(_("suspension (days)"), default=7)
    reminder_minutes_before = models.PositiveSmallIntegerField(
        _("reminder e-mail before the start (minutes, 0 = none)"), default=60
    )
    offer_hold_minutes = models.PositiveSmallIntegerField(
        _("a freed place is held for the waitlist (minutes)"),
        default=10,
        validators=[MinValueValidator(1)],
    )
    break_max_minutes = models.PositiveSmallIntegerField(
        _("longest break (minutes, 0 = no breaks)"), default=30
    )
    allowed_email_domains = models.CharField(
        _("only addresses of these domains may book"),
        max_length=500,
        blank=True,
        help_text=_("Separated by spaces or commas, e.g. univ-example.fr; empty: any address."),
    )

    class Meta:
        verbose_name = _("booking policy")
        verbose_name_plural = _("booking policies")
        constraints = [
            models.UniqueConstraint(
                fields=["establishment"],
                condition=models.Q(area__isnull=True),
                name="one_policy_per_establishment",
            ),
            models.CheckConstraint(
                condition=models.Q(min_duration_minutes__lte=models.F("max_duration_minutes")),
                name="policy_min_below_max",
            ),
        ]

    def __str__(self) -> str:
        return str(self.area) if self.area_id else str(self.establishment)

    def clean(self) -> None:
        if not self.slot_minutes:  # already refused by its validator; nothing to divide by
            return
        for field in ("min_duration_minutes", "max_duration_minutes"):
            value = getattr(self, field)
            if value and value % self.slot_minutes:
                raise ValidationError({field: _("Must be a multiple of the slot length.")})
        if self.area is not None and self.area.establishment_id != self.establishment_id:
            raise ValidationError({"area": _("This area belongs to another establishment.")})
