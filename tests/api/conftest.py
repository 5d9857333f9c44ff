"""The API through Django's test client, on the frozen Monday of tests/conftest.py.

E-mails leave after each request's commit, as in production: tests read the confirmation
link or the sign-in code from ``mail.outbox`` as a patron reads their inbox."""

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from django.core import mail
from django.test import Client, TestCase

from strapontin.api import credentials
from strapontin.desk.models import Role
from strapontin.reservations.models import Reservation
from strapontin.venues.models import Resource
from tests.conftest import paris
from tests.factories import StaffRoleFactory, UserFactory

#: Tuesday 3 March 2026, 10:00 in Paris: inside the check-in tests' default window.
TUESDAY_10 = paris(2026, 3, 3, 10, 0)
V1 = "/api/v1"


class Api:
    """JSON in, JSON out; each call commits and sends its e-mails, like a real request."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def _headers(self, token: str | None, language: str | None) -> dict[str, str]:
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if language is not None:
            headers["Accept-Language"] = language
        return headers

    def get(
        self, path: str, *, token: str | None = None, language: str | None = None, **query: Any
    ) -> Any:
        with TestCase.captureOnCommitCallbacks(execute=True):
            return self.client.get(f"{V1}{path}", query, headers=self._headers(token, language))

    def post(
        self,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        language: str | None = None,
    ) -> Any:
        with TestCase.captureOnCommitCallbacks(execute=True):
            return self.client.post(
                f"{V1}{path}",
                body if body is not None else {},
                content_type="application/json",
                headers=self._headers(token, language),
            )

    def delete(self, path: str, *, token: str | None = None) -> Any:
        with TestCase.captureOnCommitCallbacks(execute=True):
            return self.client.delete(f"{V1}{path}", headers=self._headers(token, None))

    def book(
        self,
        place: Resource,
        *,
        email: str | None = "alice@example.org",
        start: datetime = TUESDAY_10,
        duration: int = 60,
        token: str | None = None,
    ) -> Any:
        body: dict[str, Any] = {"place": place.pk, "start": start.isoformat(), "duration": duration}
        if email is not None:
            body["email"] = email
        return self.post("/reservations", body, token=token)

    def sign_in(self, email: str = "alice@example.org") -> str:
        """The whole code flow: ask, read the e-mail, exchange; returns the patron token."""
        assert self.post("/auth/code", {"email": email}).status_code == 202
        answer = self.post("/auth/token", {"email": email, "code": code_in(last_mail_to(email))})
        assert answer.status_code == 201, answer.json()
        return answer.json()["token"]


@pytest.fixture
def api(client: Client, clock: Any, db: None) -> Api:
    return Api(client)


def last_mail_to(address: str) -> str:
    found = [m for m in mail.outbox if address in m.to]
    assert found, f"no e-mail to {address}"
    return str(found[-1].body)


def code_in(body: str) -> str:
    found = re.search(r"^\s*(\d{6})\s*$", body, re.MULTILINE)
    assert found, body
    return found.group(1)


def link_token(body: str, action: str) -> str:
    """The token of the e-mail's link ``…/r/<token>/<action>/``."""
    found = re.search(rf"/r/([\w-]+)/{action}/", body)
    assert found, body
    return found.group(1)


def error_of(response: Any) -> str:
    """The stable code of an error answer, after checking its shape."""
    body = response.json()
    assert set(body) >= {"code", "message"}, body
    assert set(body) <= {"code", "message", "errors"}, body
    assert isinstance(body["message"], str)
    assert body["message"]
    return str(body["code"])


def reservation(reference: str) -> Reservation:
    return Reservation.objects.get(reference=reference)


@pytest.fixture
def desk_agent_token(place: Resource) -> Iterator[str]:
    """A desk agent of ``place``'s establishment, and their API token."""
    role = StaffRoleFactory(establishment=place.establishment, role=Role.DESK)
    _token, raw = credentials.staff_token_create(user=role.user, name="test", actor="test")
    return raw


@pytest.fixture
def superuser_token(db: None) -> str:
    user = UserFactory(is_superuser=True)
    _token, raw = credentials.staff_token_create(user=user, name="test", actor="test")
    return raw
