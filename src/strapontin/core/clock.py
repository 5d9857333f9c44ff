"""The one clock of the domain.

Deadlines are computed here, in Python, never with the database's ``Now()``: tests move this
clock with time-machine, and the database's clock would not follow.
"""

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()
