"""Schemathesis against /api/v1/openapi.json on a live server: for every operation, data
generated from the schema (and data that breaks it) must never get a 5xx, and every answer
must match the schema, its status included. Bounded: a few dozen examples per operation.

The establishment, the reservation and the token are real, so that generated requests get
past the 404s and the 401s into the services: one raw token is registered both as a patron
token and as a superuser's staff token (they live in separate tables)."""

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from ninja.responses import NinjaJSONEncoder
from pytest_django.live_server_helper import LiveServer
from schemathesis.config import SchemathesisConfig

from strapontin.api import patrons
from strapontin.api import reservations as api_reservations
from strapontin.api.credentials import hash_secret
from strapontin.api.models import PatronToken, StaffToken
from strapontin.api.v1 import api as api_v1
from strapontin.core.clock import now
from strapontin.reservations import services
from strapontin.reservations.models import Patron, Reservation
from strapontin.venues.models import Feature
from tests.conftest import PARIS
from tests.factories import ResourceFactory, UserFactory

pytestmark = [pytest.mark.fuzz, pytest.mark.usefixtures("transactional_db")]

TOKEN = "fuzz_" + "T0k3n" * 8
SLUG = "fuzz-bu"
REFERENCE = "FUZZREF1"
EXAMPLES_PER_OPERATION = 25


@pytest.fixture
def fuzz_data(transactional_db: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # One client sends everything here: the rate limits are tested elsewhere.
    for module, name in [
        (api_reservations, "BOOKINGS_PER_CLIENT"),
        (api_reservations, "CHECKINS_PER_CLIENT"),
        (api_reservations, "WRONG_CODES_PER_CLIENT"),
        (patrons, "CODE_REQUESTS_PER_CLIENT"),
        (patrons, "CODE_ATTEMPTS_PER_CLIENT"),
    ]:
        monkeypatch.setattr(module, name, 10**6)
    place = ResourceFactory(area__establishment__slug=SLUG)
    place.features.add(Feature.objects.create(code="power", name_fr="Prise", name_en="Power"))
    ResourceFactory(area=place.area, kind="room")
    moment = now()
    patron = Patron.objects.create(email="fuzz@example.org", verified_at=moment)
    tomorrow = moment.astimezone(PARIS).date() + timedelta(days=1)
    start = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 10, 0, tzinfo=PARIS)
    booked = services.reservation_create(
        resource=place,
        email=patron.email,
        start=start,
        end=start + timedelta(hours=1),
        known_patron_id=patron.pk,
    )
    Reservation.objects.filter(pk=booked.pk).update(reference=REFERENCE)
    PatronToken.objects.create(
        patron=patron,
        token_hash=hash_secret(TOKEN),
        created_at=moment,
        expires_at=moment + timedelta(days=1),
    )
    StaffToken.objects.create(
        user=UserFactory(is_superuser=True),
        name="fuzz",
        token_hash=hash_secret(TOKEN),
        prefix=TOKEN[:6],
        created_at=moment,
    )
    return


def _published_schema() -> dict[str, Any]:
    """The document /api/v1/openapi.json serves, built in process: schemathesis' lazy loader
    (from_fixture) relies on a pytest internal that pytest 9 removed."""
    return json.loads(json.dumps(api_v1.get_openapi_schema(), cls=NinjaJSONEncoder))


schema = schemathesis.openapi.from_dict(
    _published_schema(),
    config=SchemathesisConfig.from_dict(
        {
            "parameters": {"slug": SLUG, "reference": REFERENCE},
            # Declared as the schema's own schemes, so that the cases that leave the token
            # out (to see it refused) really leave it out.
            "auth": {
                "openapi": {
                    scheme: {"bearer": TOKEN}
                    for scheme in ("ReservationTokenAuth", "PatronTokenAuth", "StaffTokenAuth")
                },
            },
            "checks": {
                # Schema-valid requests that a rule of the domain refuses (a slot in the past,
                # outside opening hours, a confirmation too late…) are answers, not failures.
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "410", "429"]
                },
            },
        }
    ),
)


def test_the_fuzzed_document_is_the_published_one(client) -> None:
    assert client.get("/api/v1/openapi.json").json() == _published_schema()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_by_its_schema_and_never_with_a_5xx(
    case: schemathesis.Case, live_server: LiveServer, fuzz_data: None
) -> None:
    case.call_and_validate(base_url=live_server.url, timeout=30)
