from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache

from django import template
from django.utils.html import escape
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import get_current_timezone
from django.utils.translation import gettext

from strapontin.public.forms import SLOT_FORMAT, slot_value
from strapontin.reservations.selectors import PlaceRow

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


@lru_cache(maxsize=4096)
def _utc_stamp(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):{SLOT_FORMAT}}"


def on_break(until: datetime) -> SafeString:
    """ "en pause jusqu'à 13:20", escaped: the grid's and the list's words for such a place."""
    time = _hour(until, get_current_timezone())
    return escape(gettext("on a break until %(time)s") % {"time": time})


@register.simple_tag
def break_notice(row: PlaceRow) -> SafeString:
    """The place's break, said once beside its name, or nothing."""
    return on_break(row.break_until) if row.break_until else SafeString("")


@register.simple_tag
def timeline(row: PlaceRow, duration_minutes: int) -> SafeString:
    """A place's slots as one string built in Python: a page has hundreds of rows of dozens
    of cells, and the template engine costs several times as much cell by cell."""
    free, short = escape(gettext("free")), escape(gettext("free, but too short for this duration"))
    past, taken = escape(gettext("past")), escape(gettext("taken"))
    place = escape(f"{row.resource.label}, {row.resource.area.name}")
    length = timedelta(minutes=int(duration_minutes))
    tz = get_current_timezone()
    pk = row.resource.pk
    html = []
    for cell in row.cells:
        hour = _hour(cell.start, tz)
        if cell.selectable:
            # The value is ``slot_value(pk, cell.start)``, its UTC part formatted once a page.
            html.append(
                f'<label class="slot free"><input type="radio" name="slot" '
                f'value="{pk}-{_utc_stamp(cell.start)}" required '
                f'aria-label="{place}, {hour}–{_hour(cell.start + length, tz)}, {free}">'
                f'<span aria-hidden="true">{hour}</span></label>'
            )
        else:
            # Read out in full like a free slot; seen as its hour, with ✕ when taken.
            if cell.past:
                state, said = "past", past
            elif cell.free:
                state, said = "short", short
            elif cell.break_until is not None:
                state, said = "busy on-break", on_break(cell.break_until)
            else:
                state, said = "busy", taken
            mark = {"busy": " ✕", "busy on-break": " ⏸"}.get(state, "")
            html.append(
                f'<span class="slot {state}"><span aria-hidden="true">{hour}{mark}</span>'
                f'<span class="visually-hidden">{place}, {hour}–{_hour(cell.end, tz)}, '
                f"{said}</span></span>"
            )
    return mark_safe("".join(html))  # noqa: S308 - every variable part is escaped above


@register.simple_tag
def free_slot_links(row: PlaceRow, duration_minutes: int, book_url: str) -> SafeString:
    """The grid's choices for one place as links (the list view): the same cells, the same
    way, so that the list never offers what the grid does not."""
    free = escape(gettext("free"))
    place = escape(f"{row.resource.label}, {row.resource.area.name}")
    length = timedelta(minutes=int(duration_minutes))
    tz = get_current_timezone()
    html = []
    for cell in row.cells:
        if cell.selectable:
            query = urlencode(
                {"slot": slot_value(row.resource.pk, cell.start), "duration": str(duration_minutes)}
            )
            html.append(
                f'<li><a href="{escape(book_url)}?{escape(query)}">'
                f"{_hour(cell.start, tz)}–{_hour(cell.start + length, tz)}"
                f'<span class="visually-hidden"> — {place}, {free}</span></a></li>'
            )
    return mark_safe("".join(html))  # noqa: S308 - every variable part is escaped above
