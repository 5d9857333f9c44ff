from datetime import datetime, timedelta

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime
from django.utils.translation import gettext

from strapontin.public.forms import slot_value
from strapontin.reservations.selectors import PlaceRow

register = template.Library()


@register.filter
def slot(start: datetime, resource_id: int) -> str:
    """The form value of a grid choice: ``{{ cell.start|slot:place.pk }}``."""
    return slot_value(resource_id, start)


@register.filter
def plus_minutes(moment: datetime, minutes: int) -> datetime:
    return moment + timedelta(minutes=int(minutes))


@register.simple_tag
def timeline(row: PlaceRow, duration_minutes: int) -> SafeString:
    """A place's slots as one string built in Python: a page has hundreds of rows of dozens
    of cells, and the template engine costs several times as much cell by cell."""
    free, short = escape(gettext("free")), escape(gettext("free, but too short for this duration"))
    past, taken = escape(gettext("past")), escape(gettext("taken"))
    place = escape(f"{row.resource.label}, {row.resource.area.name}")
    length = timedelta(minutes=int(duration_minutes))
    html = []
    for cell in row.cells:
        hour = f"{localtime(cell.start):%H:%M}"
        if cell.selectable:
            html.append(
                f'<label class="slot free"><input type="radio" name="slot" '
                f'value="{slot_value(row.resource.pk, cell.start)}" required '
                f'aria-label="{place}, {hour}–{localtime(cell.start + length):%H:%M}, {free}">'
                f'<span aria-hidden="true">{hour}</span></label>'
            )
        elif cell.free and not cell.past:
            html.append(
                f'<span class="slot short" title="{short}">{hour}'
                f'<span class="visually-hidden">, {short}</span></span>'
            )
        elif cell.past:
            html.append(
                f'<span class="slot past">{hour}'
                f'<span class="visually-hidden">, {past}</span></span>'
            )
        else:
            html.append(
                f'<span class="slot busy">{hour} <span aria-hidden="true">✕</span>'
                f'<span class="visually-hidden">, {taken}</span></span>'
            )
    return mark_safe("".join(html))  # noqa: S308 - every variable part is escaped above
