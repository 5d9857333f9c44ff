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
        everything = ("", _("All"))
        choices: dict[str, list[tuple[Any, Any]]] = {
            "area": [everything, *areas],
            "duration": list(durations),
            "kind": [everything, *kinds],
            "feature": list(features),
        }
        for name, options in choices.items():
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = options


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
        anywhere = ("", _("Any"))
        choices: dict[str, list[tuple[Any, Any]]] = {
            "area": [anywhere, *areas],
            "duration": list(durations),
            "kind": [anywhere, *kinds],
            "feature": list(features),
        }
        for name, options in choices.items():
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = options
