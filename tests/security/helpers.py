"""What the security tests share: the whole database as data, and a patron's journey."""

import re
from typing import Any

from django.apps import apps
from django.core import mail
from django.test import Client, TestCase

from strapontin.public.forms import slot_value
from strapontin.venues.models import Resource
from tests.conftest import paris

TUESDAY_10 = paris(2026, 3, 3, 10, 0)
LINK = re.compile(
    r"https?://[^/\s\"]+(/r/([A-Za-z0-9_-]+)/"
    r"(confirmer|annuler|connexion|place-gardee|liste-attente)/)"
)


def database_snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table Django knows (ours, auth, sessions, tasks), as plain data."""
    return {
        model._meta.label: [
            {k: repr(v) for k, v in row.items()}
            for row in model._base_manager.order_by("pk").values()
        ]
        for model in apps.get_models(include_auto_created=True)
    }


def text_in_database(needle: str) -> list[str]:
    """Where ``needle`` appears in the database: ``label.field`` of each hit."""
    return [
        f"{label}.{field}"
        for label, rows in database_snapshot().items()
        for row in rows
        for field, value in row.items()
        if needle in value
    ]


def book(client: Client, place: Resource, email: str, start=TUESDAY_10, duration: int = 60):
    """The web's booking POST; its e-mails leave after the commit, as in production."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            f"/{place.establishment.slug}/reservation/reserver/",
            {"slot": slot_value(place.pk, start), "duration": duration, "email": email},
        )


def links_in(body: str) -> list[tuple[str, str, str]]:
    """(path, token, action) of each e-mail link in ``body``."""
    return [(m.group(1), m.group(2), m.group(3)) for m in LINK.finditer(body)]


def link_of(action: str, outbox: list[Any] | None = None) -> str:
    for message in reversed(outbox if outbox is not None else mail.outbox):
        for path, _token, found in links_in(message.body):
            if found == action:
                return path
    raise AssertionError(f"no {action} link in the e-mails")
