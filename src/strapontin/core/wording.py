"""Counted words, each a whole translatable unit with its plural forms ("1 minute",
"15 minutes"), and the short durations of the grid and the desk ("45 min", "1 h 30").

Sentences that hold two counts ("from 15 minutes before … until 30 minutes after") take these
phrases as placeholders; a sentence with one count uses ``ngettext`` on the whole sentence."""

from django.utils.translation import gettext, ngettext


def minutes_phrase(n: int) -> str:
    return ngettext("%(n)s minute", "%(n)s minutes", n) % {"n": n}


def duration_label(minutes: int) -> str:
    """A slot length as the grid and the desk show it: "45 min", "2 h", "1 h 30"."""
    hours, rest = divmod(minutes, 60)
    if not hours:
        return gettext("%(m)s min") % {"m": rest}
    if not rest:
        return gettext("%(h)s h") % {"h": hours}
    return gettext("%(h)s h %(m)02d") % {"h": hours, "m": rest}
