from datetime import UTC, datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

SLOT_FORMAT = "%Y%m%dT%H%MZ"


def slot_value(resource_id: int, start: datetime) -> str:
    """A grid choice as one form value: place and start (UTC)."""
    return f"{resource_id}-{start.astimezone(UTC):{SLOT_FORMAT}}"


def parse_slot(value: str) -> tuple[int, datetime] | None:
    resource_id, _sep, start = (value or "").partition("-")
    try:
        return int(resource_id), datetime.strptime(start, SLOT_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def set_place_choices(
    form: forms.Form,
    no_filter: tuple[str, Any],
    areas: list[tuple[int, str]],
    durations: list[tuple[int, str]],
    kinds: list[tuple[str, Any]],
    features: list[tuple[str, str]],
) -> None:
    """The grid's filters and the waitlist's wish offer the same areas, durations, kinds and
    features of the establishment; ``no_filter`` heads the areas and kinds ("Toutes",
    "Indifférent")."""
    choices: dict[str, list[tuple[Any, Any]]] = {
        "area": [no_filter, *areas],
        "duration": list(durations),
        "kind": [no_filter, *kinds],
        "feature": list(features),
    }
    for name, options in choices.items():
        field = form.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = options


class GridFiltersForm(forms.Form):
    date = forms.DateField(
        label=_("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    area = forms.TypedChoiceField(
        label=_("Floor or zone"), required=False, coerce=int, empty_value=None
    )
    duration = forms.TypedChoiceField(
        label=_("Duration"), required=False, coerce=int, empty_value=None
    )
    kind = forms.ChoiceField(label=_("Kind of place"), required=False)
    feature = forms.MultipleChoiceField(
        label=_("Features"), required=False, widget=forms.CheckboxSelectMultiple
    )
    free = forms.BooleanField(label=_("Only places with a free slot"), required=False)
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: object,
        areas: list[tuple[int, str]],
        durations: list[tuple[int, str]],
        kinds: list[tuple[str, Any]],
        features: list[tuple[str, str]],
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        set_place_choices(self, ("", _("All")), areas, durations, kinds, features)


class BookingForm(forms.Form):
    email = forms.EmailField(
        label=_("Your e-mail address"),
        max_length=254,
        widget=forms.EmailInput(
            attrs={
                "autocomplete": "email",
                "inputmode": "email",
                "autocapitalize": "off",
                "spellcheck": "false",
            }
        ),
        help_text=_(
            "We send the confirmation there. Check it carefully: a typo is the "
            "first reason why no e-mail arrives."
        ),
    )


class SignInForm(forms.Form):
    email = forms.EmailField(
        label=_("Your e-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )


class CancelForm(forms.Form):
    """Nothing to fill in: the POST is the decision (links alone never change anything)."""


class DrawRequestForm(BookingForm):
    """A request for a fair-opening draw: the address, and whether a place alike will do."""

    flexible = forms.BooleanField(
        label=_(
            "If this place goes to someone else, another place of the same kind on this "
            "floor will do"
        ),
        required=False,
        initial=True,
    )


class WaitlistForm(forms.Form):
    """ "Prévenez-moi": the wish (date, time, duration, optional area, kind and features) and
    the address the offer goes to."""

    date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    start = forms.TimeField(
        label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    duration = forms.TypedChoiceField(label=_("Duration"), coerce=int)
    area = forms.TypedChoiceField(
        label=_("Floor or zone"), required=False, coerce=int, empty_value=None
    )
    kind = forms.ChoiceField(label=_("Kind of place"), required=False)
    feature = forms.MultipleChoiceField(
        label=_("Features"), required=False, widget=forms.CheckboxSelectMultiple
    )
    email = forms.EmailField(
        label=_("Your e-mail address"),
        max_length=254,
        widget=forms.EmailInput(
            attrs={
                "autocomplete": "email",
                "inputmode": "email",
                "autocapitalize": "off",
                "spellcheck": "false",
            }
        ),
        help_text=_("The offer of a freed place is sent there, with a link to take it."),
    )

    def __init__(
        self,
        *args: object,
        areas: list[tuple[int, str]],
        durations: list[tuple[int, str]],
        kinds: list[tuple[str, Any]],
        features: list[tuple[str, str]],
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        set_place_choices(self, ("", _("Any")), areas, durations, kinds, features)
