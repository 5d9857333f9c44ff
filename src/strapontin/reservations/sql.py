"""SQL fragments built from the models' own definitions, for the statements written by hand
(``booking_queries``, ``grid_queries``): what holding and overdue mean (I1, I5) is said once,
in ``models``, and these follow it."""

from collections.abc import Sequence
from functools import cache

from django.db import connection

from strapontin.reservations.models import DEADLINE_FIELDS, HOLDING_STATES


def quoted(value: str) -> str:
    assert value.isidentifier()  # our own state names and column names only
    return f"'{value}'"


@cache
def _fragments() -> dict[str, str]:
    """For statements over one table of reservations (columns unqualified). ``overdue`` is
    never NULL: a reservation without its deadline is not overdue, as for ``~overdue_q``."""
    quote = connection.ops.quote_name
    overdue = " OR ".join(
        f"(state = {quoted(state)} AND {quote(field)} <= %(moment)s)"
        for state, field in DEADLINE_FIELDS.items()
    )
    return {
        "holding_states": ", ".join(quoted(state) for state in HOLDING_STATES),
        "overdue": f"COALESCE({overdue}, FALSE)",
        "locked": " FOR UPDATE" if connection.features.has_select_for_update else "",
        "locked_of_r": " FOR UPDATE OF r" if connection.features.has_select_for_update_of else "",
        # One parameter for a list of keys (see ``keys``): the statement's text stays the same
        # whatever their number, so it is prepared once, and its placeholders read once.
        "in_keys": "= ANY(%(keys)s::bigint[])"
        if connection.vendor == "postgresql"
        else "IN (SELECT value FROM json_each(%(keys)s))",
    }


@cache
def sql(template: str) -> str:
    """``template`` with its ``{holding_states}``, ``{overdue}``, ``{locked}``,
    ``{locked_of_r}`` and ``{in_keys}`` filled in for this database."""
    return template.format(**_fragments())


def keys(values: Sequence[int]) -> str:
    """The ``%(keys)s`` parameter of ``{in_keys}``: an array's text on PostgreSQL (psycopg
    dumps a list of numbers one by one in Python), JSON on SQLite."""
    listed = ",".join(str(int(value)) for value in values)
    return f"{{{listed}}}" if connection.vendor == "postgresql" else f"[{listed}]"
