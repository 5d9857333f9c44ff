"""When the database cannot be reached, every page and the API answer 503 with Retry-After
at once (not a 500, not a hang), and the next request after it is back succeeds by itself.

The database is really made unreachable: the connection is closed and pointed at a server
that is not there (PostgreSQL: a closed port; SQLite: a file in a directory that does not
exist). tests/reliability/test_crashes.py restarts a real PostgreSQL under a real gunicorn."""

import socket
import time
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import Client, RequestFactory

from strapontin.config.unavailable import RETRY_AFTER_SECONDS, server_error
from tests.factories import ResourceFactory

pytestmark = pytest.mark.usefixtures("transactional_db")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def database_down() -> Iterator[None]:
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "postgresql":
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()))
    else:
        connection.settings_dict["NAME"] = "/nonexistent-directory/strapontin.sqlite3"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.fixture
def client() -> Client:
    """A client that gets what a browser would get, not the exception."""
    return Client(raise_request_exception=False)


def test_pages_answer_503_with_retry_after_while_the_database_is_down(
    client: Client, database_down: None
) -> None:
    started = time.monotonic()
    response = client.get("/")
    assert time.monotonic() - started < 10
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    assert "Service momentanément indisponible" in page
    assert "Nothing is lost" in page


def test_a_booking_while_the_database_is_down_is_refused_cleanly(
    client: Client, database_down: None
) -> None:
    response = client.post(
        "/bib-0/reservation/reserver/", {"slot": "1-20260303T0900", "email": "a@example.org"}
    )
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)


def test_the_api_answers_503_in_its_own_error_shape(client: Client, database_down: None) -> None:
    response = client.get("/api/v1/establishments", headers={"accept-language": "en"})
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert response.json() == {
        "code": "unavailable",
        "message": "The service is briefly unavailable. Try again in a moment.",
    }
    french = client.get("/api/v1/establishments", headers={"accept-language": "fr"})
    assert french.json()["message"] == (
        "Le service est momentanément indisponible. Réessayez dans un instant."
    )


def test_the_first_request_after_the_database_is_back_succeeds(client: Client) -> None:
    place = ResourceFactory()
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict["NAME" if connection.vendor == "sqlite" else "PORT"] = (
        "/nonexistent-directory/x.sqlite3" if connection.vendor == "sqlite" else str(closed_port())
    )
    assert client.get("/").status_code == 503
    connection.settings_dict.update(saved)  # the database is back
    response = client.get("/")
    assert response.status_code == 200
    assert place.establishment.name in response.content.decode()


def test_other_errors_are_still_500s() -> None:
    request = RequestFactory().get("/")
    try:
        raise ValueError("a bug")
    except ValueError:
        response = server_error(request)
    assert response.status_code == 500
    assert not response.has_header("Retry-After")
