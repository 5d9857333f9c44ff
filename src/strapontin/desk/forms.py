"""Back-office forms: they parse and say what is wrong in words; the rules live in services."""

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import DomainNameValidator, MaxValueValidator
from django.utils.translation import get_language, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from strapontin.core.validators import validate_single_line
from strapontin.core.wording import duration_label
from strapontin.desk.models import Role
from strapontin.venues.models import (
    Area,
    BookingPolicy,
    Establishment,
    Feature,
    OpeningHours,
    Resource,
    ResourceKind,
)
from strapontin.venues.policy import duration_choices, effective_policy
from strapontin.venues.schedule import opening_hours_of, slot_starts

#: Most places created at once: enough for a floor, small enough to stay one quick transaction.
MAX_BULK = 500


class WalkInForm(forms.Form):
    """A patron standing at the desk: a place, a start on today's grid, a duration, an address."""

    resource = forms.ModelChoiceField(queryset=Resource.objects.none(), label=_("Place"))
    start = forms.ChoiceField(label=_("Start"))
    duration = forms.TypedChoiceField(coerce=int, label=_("Duration"))
    email = forms.EmailField(label=_("Patron's e-mail"), max_length=254)

    def __init__(
        self,
        *args: Any,
        establishment: Establishment,
        day: date,
        moment: datetime,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.establishment = establishment
        tz = establishment.tz
        places = forms.ModelChoiceField(
            queryset=Resource.objects.filter(establishment=establishment, is_active=True)
            .select_related("area")
            .order_by("area__position", "position", "label"),
            label=_("Place"),
        )
        self.fields["resource"] = places
        policy = effective_policy(establishment)
        slot = timedelta(minutes=policy.slot_minutes)
        # Slots already over are not offered; the one under way is, and comes first.
        self.starts: dict[str, datetime] = {}
        for opening in opening_hours_of(establishment, day).openings:
            for start in slot_starts(opening, policy.slot_minutes):
                if start + slot > moment:
                    self.starts[start.astimezone(tz).strftime("%H:%M")] = start
        start_field = self.fields["start"]
        assert isinstance(start_field, forms.ChoiceField)
        start_field.choices = [(key, key) for key in self.starts]
        duration_field = self.fields["duration"]
        assert isinstance(duration_field, forms.TypedChoiceField)
        duration_field.choices = [(m, duration_label(m)) for m in duration_choices(policy)]

    def interval(self) -> tuple[datetime, datetime]:
        start = self.starts[self.cleaned_data["start"]]
        return start, start + timedelta(minutes=self.cleaned_data["duration"])


class ClosureForm(forms.Form):
    """An exceptional closure or reduced hours over a range of days."""

    CLOSED = "closed"
    REDUCED = "reduced"

    first_day = forms.DateField(
        label=_("First day"), widget=forms.DateInput(attrs={"type": "date"})
    )
    last_day = forms.DateField(label=_("Last day"), widget=forms.DateInput(attrs={"type": "date"}))
    area = forms.ModelChoiceField(
        queryset=Area.objects.none(),
        required=False,
        label=_("Where"),
        empty_label=_("The whole establishment"),
    )
    kind = forms.ChoiceField(
        label=_("What changes"),
        choices=[(CLOSED, _("Closed all day")), (REDUCED, _("Open only during these hours"))],
        widget=forms.RadioSelect,
        initial=CLOSED,
    )
    opens = forms.TimeField(
        label=_("Opens"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    closes = forms.TimeField(
        label=_("Closes"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    reason = forms.CharField(
        label=_("Reason, written in the patrons' e-mail"),
        max_length=200,
        validators=[validate_single_line],
        widget=forms.TextInput(attrs={"list": "closure-reasons"}),
    )

    def __init__(self, *args: Any, establishment: Establishment, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        area_field = self.fields["area"]
        assert isinstance(area_field, forms.ModelChoiceField)
        area_field.queryset = Area.objects.filter(establishment=establishment)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == self.REDUCED:
            for name in ("opens", "closes"):
                if not data.get(name):
                    self.add_error(name, _("Give the opening and the closing time."))
        else:
            data["opens"] = data["closes"] = None
        return data


class PeriodForm(forms.Form):
    """The period of the statistics, both days included."""

    from_ = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    to = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    MAX_DAYS = 366

    def __init__(self, data: Any, *, today: date) -> None:
        self.default = (today - timedelta(days=29), today)
        default = {"from": self.default[0].isoformat(), "to": self.default[1].isoformat()}
        super().__init__({k: data.get(k) or default[k] for k in default})

    def period(self) -> tuple[date, date]:
        """The period asked for, or the last 30 days when the address is wrong."""
        if self.is_valid():
            return self.cleaned_data["from_"], self.cleaned_data["to"]
        return self.default

    def add_prefix(self, field_name: str) -> str:
        # ``from`` is a Python keyword; the address keeps the short name.
        return "from" if field_name == "from_" else field_name

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("from_"), data.get("to")
        if first and last:
            if last < first:
                self.add_error("to", _("The last day comes before the first."))
            elif (last - first).days >= self.MAX_DAYS:
                self.add_error("to", _("At most a year at once."))
        return data


class AreaForm(forms.ModelForm):
    class Meta:
        model = Area
        fields = ["name"]

    def __init__(self, *args: Any, establishment: Establishment, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.establishment = establishment

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"].strip()
        taken = Area.objects.filter(establishment=self.instance.establishment, name__iexact=name)
        if taken.exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("Another floor or zone has this name."))
        return name


class BulkPlacesForm(forms.Form):
    """ "Place 1 to 60 on Étage 2": a prefix, a first and a last number, an area, a kind."""

    label_start = forms.CharField(
        label=_("Label prefix"), max_length=60, initial="Place", validators=[validate_single_line]
    )
    first = forms.IntegerField(label=_("From number"), min_value=0, initial=1)
    last = forms.IntegerField(label=_("To number"), min_value=0)
    area = forms.ModelChoiceField(queryset=Area.objects.none(), label=_("Floor or zone"))
    kind = forms.ChoiceField(label=_("Kind of place"), choices=ResourceKind.choices)
    capacity = forms.IntegerField(label=_("Capacity"), min_value=1, max_value=100, initial=1)
    features = forms.ModelMultipleChoiceField(
        queryset=Feature.objects.all(),
        required=False,
        label=_("Features"),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, establishment: Establishment, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        area_field = self.fields["area"]
        assert isinstance(area_field, forms.ModelChoiceField)
        area_field.queryset = Area.objects.filter(establishment=establishment)

    def labels(self) -> list[str]:
        prefix = self.cleaned_data["label_start"].strip()
        return [
            f"{prefix} {n}"
            for n in range(self.cleaned_data["first"], self.cleaned_data["last"] + 1)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        if data["last"] < data["first"]:
            self.add_error("last", _("The last number comes before the first."))
            return data
        if data["last"] - data["first"] + 1 > MAX_BULK:
            self.add_error(
                "last",
                ngettext_lazy(
                    "At most %(n)d place at once.", "At most %(n)d places at once.", MAX_BULK
                )
                % {"n": MAX_BULK},
            )
            return data
        taken = list(
            Resource.objects.filter(area=data["area"], label__in=self.labels())
            .order_by("position", "label")
            .values_list("label", flat=True)[:5]
        )
        if taken:
            self.add_error(
                None,
                _("These places already exist on %(area)s: %(labels)s.")
                % {"area": data["area"].name, "labels": ", ".join(taken)},
            )
        return data


class FeatureForm(forms.Form):
    """A feature's names in both languages; the code for the API is derived from them."""

    name_fr = forms.CharField(label=_("Name in French"), max_length=80)
    name_en = forms.CharField(label=_("Name in English"), max_length=80)


class PlaceForm(forms.ModelForm):
    """One place: what the bulk creation set, and its position and bookable flag."""

    class Meta:
        model = Resource
        fields = ["label", "area", "kind", "capacity", "position", "is_active", "features"]
        widgets = {"features": forms.CheckboxSelectMultiple}
        help_texts = {
            "position": _("Places are listed by floor or zone, then by this number."),
            "is_active": _("A place that cannot be booked keeps its reservations."),
        }

    def __init__(self, *args: Any, establishment: Establishment, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        area_field = self.fields["area"]
        assert isinstance(area_field, forms.ModelChoiceField)
        area_field.queryset = Area.objects.filter(establishment=establishment)
        features_field = self.fields["features"]
        assert isinstance(features_field, forms.ModelMultipleChoiceField)
        english = (get_language() or "fr").startswith("en")
        features_field.queryset = Feature.objects.order_by(
            "name_en" if english else "name_fr", "code"
        )
        capacity = self.fields["capacity"]
        assert isinstance(capacity, forms.IntegerField)
        capacity.max_value = 100
        capacity.validators.append(MaxValueValidator(100))
        capacity.widget.attrs["max"] = 100

    def clean_label(self) -> str:
        label: str = self.cleaned_data["label"].strip()
        if not label:
            raise forms.ValidationError(_("Give the place a label."))
        return label

    def validate_unique(self) -> None:
        # The service re-checks under its lock; here it becomes a message by the field.
        try:
            self.instance.validate_constraints()
        except forms.ValidationError:
            self.add_error("label", _("Another place of this floor or zone has this label."))


class OpeningHoursForm(forms.ModelForm):
    class Meta:
        model = OpeningHours
        fields = ["weekday", "opens", "closes"]
        widgets = {
            "opens": forms.TimeInput(attrs={"type": "time"}),
            "closes": forms.TimeInput(attrs={"type": "time"}),
        }

    def __init__(self, *args: Any, establishment: Establishment, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.instance.establishment = establishment

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        opens: time | None = data.get("opens")
        closes: time | None = data.get("closes")
        weekday: int | None = data.get("weekday")
        if opens and closes and weekday is not None:
            if opens >= closes:
                self.add_error("closes", _("The opening time must come before closing."))
            elif OpeningHours.objects.filter(
                establishment=self.instance.establishment,
                weekday=weekday,
                opens__lt=closes,
                closes__gt=opens,
            ).exists():
                self.add_error(None, _("These hours overlap hours already set for that day."))
        return data


class PolicyForm(forms.ModelForm):
    class Meta:
        model = BookingPolicy
        fields = [
            "slot_minutes",
            "min_duration_minutes",
            "max_duration_minutes",
            "horizon_days",
            "day_opens_at",
            "max_per_day",
            "max_per_week",
            "confirmation_mode",
            "confirmation_deadline_minutes",
            "max_pending_per_patron",
            "checkin_opens_before_minutes",
            "checkin_closes_after_minutes",
            "noshow_limit",
            "noshow_period_days",
            "noshow_suspension_days",
            "reminder_minutes_before",
            "fair_opening",
            "fair_window_minutes",
            "break_max_minutes",
            "allowed_email_domains",
        ]
        widgets = {"day_opens_at": forms.TimeInput(attrs={"type": "time"})}

    def clean_allowed_email_domains(self) -> str:
        """One spelling, whatever was typed: "@Univ.fr, etu.univ.fr" → "univ.fr etu.univ.fr"."""
        raw = self.cleaned_data.get("allowed_email_domains") or ""
        domains = []
        for domain in raw.replace(",", " ").replace(";", " ").lower().split():
            domain = domain.lstrip("@").strip(".")
            try:
                DomainNameValidator(accept_idna=False)(domain)
            except ValidationError:
                raise ValidationError(
                    _("“%(domain)s” is not a domain name, such as univ-example.fr."),
                    code="invalid_domain",
                    params={"domain": domain},
                ) from None
            if "." not in domain:
                raise ValidationError(
                    _("“%(domain)s” is not a domain name, such as univ-example.fr."),
                    code="invalid_domain",
                    params={"domain": domain},
                )
            if domain not in domains:
                domains.append(domain)
        return " ".join(domains)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("min_duration_minutes"), data.get("max_duration_minutes")
        if low and high and low > high:
            self.add_error("max_duration_minutes", _("The maximum is below the minimum."))
        return data


class StaffMemberForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    password = forms.CharField(
        label=_("Password (only to create a new account)"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
