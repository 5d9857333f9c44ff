"""Text that ends up in e-mail headers, calendar files and CSV cells: one line, printable."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

#: C0 and C1 controls (line breaks, tabs, NUL, ESC…) and Unicode's line/paragraph separators.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def has_control_characters(value: str) -> bool:
    return bool(CONTROL_CHARACTERS.search(value or ""))


def validate_single_line(value: str) -> None:
    """For names, labels and addresses: a line break in one is a mistake or an attack."""
    if has_control_characters(value):
        raise ValidationError(
            _("Line breaks and control characters are not allowed here."),
            code="control_characters",
        )
