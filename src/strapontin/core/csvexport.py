"""CSV for spreadsheets: a cell that starts like a formula is written as text.

Spreadsheets run ``=HYPERLINK(…)`` or ``=cmd|…`` found in a CSV; names typed by staff end up
in our exports, so every cell starting with = + - @ tab or CR gets a leading apostrophe (the
OWASP "CSV injection" advice)."""

import csv
from collections.abc import Iterable
from typing import Any, Protocol

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


def neutralised(cell: object) -> str:
    text = "" if cell is None else str(cell)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def write_rows(out: Writable, rows: Iterable[Iterable[object]]) -> None:
    csv.writer(out).writerows([neutralised(cell) for cell in row] for row in rows)
