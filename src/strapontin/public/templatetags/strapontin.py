from datetime import datetime, timedelta

from django import template

from strapontin.public.forms import slot_value

register = template.Library()


@register.filter
def slot(start: datetime, resource_id: int) -> str:
    """The form value of a grid choice: ``{{ cell.start|slot:place.pk }}``."""
    return slot_value(resource_id, start)


@register.filter
def plus_minutes(moment: datetime, minutes: int) -> datetime:
    return moment + timedelta(minutes=int(minutes))
