from django import template

from strapontin.core.wording import duration_label, minutes_phrase

register = template.Library()


@register.filter
def minutes(n: int) -> str:
    """``{{ policy.checkin_opens_before_minutes|minutes }}`` → "15 minutes", "1 minute"."""
    return minutes_phrase(int(n))


@register.filter
def duration(minutes: int) -> str:
    """``{{ 90|duration }}`` → "1 h 30"."""
    return duration_label(int(minutes))
