"""Half-open intervals [start, end): the one overlap rule of the project (I6)."""

from datetime import datetime

from django.db.models import Q


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Two half-open intervals overlap when each starts before the other ends."""
    return a_start < b_end and b_start < a_end


def overlap_q(start: datetime, end: datetime, prefix: str = "") -> Q:
    """The same rule as :func:`overlaps`, for a queryset with ``start``/``end`` fields."""
    return Q(**{f"{prefix}start__lt": end, f"{prefix}end__gt": start})
