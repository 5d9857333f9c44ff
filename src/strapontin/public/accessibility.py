"""The accessibility statement, linked from the footer of every page as RGAA asks.

A statement belongs to whoever runs the site (its contact, its audit): each deployment points
``STRAPONTIN_ACCESSIBILITY_STATEMENT`` at its own Markdown file. The default is the project's
own statement, docs/accessibilite.md, written in French like RGAA's model."""

from functools import cache

import markdown
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_safe


@cache
def _rendered(path: str, modified: float) -> SafeString:
    """The file as HTML; ``modified`` is there so that an edited file is read again."""
    with open(path, encoding="utf-8") as source:
        text = source.read()
    # The file is the site operator's own document, not user input: its HTML is trusted.
    return mark_safe(markdown.markdown(text, extensions=["tables", "sane_lists"]))  # noqa: S308


@require_safe
def statement(request: HttpRequest) -> HttpResponse:
    path = settings.ACCESSIBILITY_STATEMENT
    if not path.is_file():
        return render(request, "public/accessibility.html", {"statement": None}, status=404)
    html = _rendered(str(path), path.stat().st_mtime)
    return render(request, "public/accessibility.html", {"statement": html})
