from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import NamedTuple

from django import template
from django.utils.html import escape
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import get_current_timezone
from django.utils.translation import gettext

from strapontin.public.forms import SLOT_FORMAT, slot_value
from strapontin.reservations.selectors import DaySlots, PlaceRow, chosen

register = template.Library()


@register.filter
def slot(start: datetime, resource_id: int) -> str:
    """The form value of a grid choice: ``{{ cell.start|slot:place.pk }}``."""
    return slot_value(resource_id, start)


@register.filter
def plus_minutes(moment: datetime, minutes: int) -> datetime:
    return moment + timedelta(minutes=int(minutes))


@lru_cache(maxsize=4096)
def _hour(moment: datetime, tz: tzinfo) -> str:
    """ "14:30": every row of a page shows the same few dozen hours, formatted once each."""
    return f"{moment.astimezone(tz):%H:%M}"


def on_break(until: datetime) -> SafeString:
    """ "en pause jusqu'à 13:20", escaped: the grid's and the list's words for such a place."""
    time = _hour(until, get_current_timezone())
    return escape(gettext("on a break until %(time)s") % {"time": time})


@register.simple_tag
def break_notice(row: PlaceRow) -> SafeString:
    """The place's break, said once beside its name, or nothing."""
    return on_break(row.break_until) if row.break_until else SafeString("")


class _Labels(NamedTuple):
    """What the grid writes of each slot of the day, by slot: the same for every place."""

    hours: list[str]
    ends: list[str]
    #: When a reservation of the chosen duration from this slot would end.
    until: list[str]
    #: The start's part of a form value (``slot_value``).
    utc: list[str]


@lru_cache(maxsize=16)
def _labels(slots: DaySlots, tz: tzinfo, duration_minutes: int) -> _Labels:
    """Formatted once a page, not once a place: a page has hundreds of places."""
    length = timedelta(minutes=duration_minutes)
    return _Labels(
        hours=[_hour(start, tz) for start in slots.starts],
        ends=[_hour(end, tz) for end in slots.ends],
        until=[_hour(start + length, tz) for start in slots.starts],
        utc=[f"{start.astimezone(UTC):{SLOT_FORMAT}}" for start in slots.starts],
    )


@register.simple_tag
def timeline(row: PlaceRow, duration_minutes: int) -> SafeString:
    """A place's slots as one string built in Python: a page has hundreds of rows of dozens
    of cells, and the template engine costs several times as much cell by cell."""
    free, short = escape(gettext("free")), escape(gettext("free, but too short for this duration"))
    past, taken = escape(gettext("past")), escape(gettext("taken"))
    place = escape(f"{row.resource.label}, {row.resource.area.name}")
    labels = _labels(row.slots, get_current_timezone(), int(duration_minutes))
    pk, is_free, selectable, started = row.resource.pk, row.free, row.selectable, row.slots.past
    html = []
    for i, hour in enumerate(labels.hours):
        if selectable >> i & 1:
            html.append(
                f'<label class="slot free"><input type="radio" name="slot" '
                f'value="{pk}-{labels.utc[i]}" required '
                f'aria-label="{place}, {hour}–{labels.until[i]}, {free}">'
                f'<span aria-hidden="true">{hour}</span></label>'
            )
            continue
        # Read out in full like a free slot; seen as its hour, with ✕ when taken.
        if started >> i & 1:
            state, said, mark = "past", past, ""
        elif is_free >> i & 1:
            state, said, mark = "short", short, ""
        elif i in row.paused:
            state, said, mark = "busy on-break", on_break(row.paused[i]), " ⏸"
        else:
            state, said, mark = "busy", taken, " ✕"
        html.append(
            f'<span class="slot {state}"><span aria-hidden="true">{hour}{mark}</span>'
            f'<span class="visually-hidden">{place}, {hour}–{labels.ends[i]}, '
            f"{said}</span></span>"
        )
    return mark_safe("".join(html))  # noqa: S308 - every variable part is escaped above


@register.simple_tag
def free_slot_links(row: PlaceRow, duration_minutes: int, book_url: str) -> SafeString:
    """The grid's choices for one place as links (the list view): the same slots, the same
    way, so that the list never offers what the grid does not."""
    free = escape(gettext("free"))
    place = escape(f"{row.resource.label}, {row.resource.area.name}")
    labels = _labels(row.slots, get_current_timezone(), int(duration_minutes))
    html = []
    for i in chosen(range(len(labels.hours)), row.selectable):
        query = urlencode(
            {"slot": f"{row.resource.pk}-{labels.utc[i]}", "duration": str(duration_minutes)}
        )
        html.append(
            f'<li><a href="{escape(book_url)}?{escape(query)}">'
            f"{labels.hours[i]}–{labels.until[i]}"
            f'<span class="visually-hidden"> — {place}, {free}</span></a></li>'
        )
    return mark_safe("".join(html))  # noqa: S308 - every variable part is escaped above
