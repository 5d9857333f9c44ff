"""Point 8: hostile text. Line breaks and control characters in addresses and names are refused
with a 4xx (never a 500, never stored); e-mail headers cannot be injected; the .ics files and
CSV exports carry what they are given as data, never as structure or formulas."""

import csv
import io
from datetime import timedelta
from email import message_from_bytes

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client, TestCase
from icalendar import Calendar

from strapontin.core.csvexport import FORMULA_STARTS, neutralised, write_rows
from strapontin.desk.models import Role, StaffRole
from strapontin.public.forms import slot_value
from strapontin.reservations import services
from strapontin.reservations.models import Patron, Reservation
from strapontin.reservations.notifications import deliver_due
from strapontin.venues.models import Area, Establishment
from tests.factories import AreaFactory, EstablishmentFactory, ResourceFactory, UserFactory
from tests.security.helpers import TUESDAY_10, book

pytestmark = pytest.mark.usefixtures("clock")

HOSTILE_ADDRESSES = [
    "alice@example.org\r\nBcc: evil@example.org",
    "alice\n@example.org",
    "alice@exa\rmple.org",
    '"al\x01ice"@example.org',
    '"a\\"b"@example.org',
    "alice@example.org\x00",
    "ali\tce@example.org",
    "alice\u2028@example.org",
    "alice\x1b[31m@example.org",
]


def json_post(path: str, body: dict) -> object:
    with TestCase.captureOnCommitCallbacks(execute=True):
        return Client().post(f"/api/v1{path}", body, content_type="application/json")


@pytest.mark.parametrize("address", HOSTILE_ADDRESSES)
def test_a_hostile_address_is_refused_everywhere_with_a_4xx(place, address):
    slug = place.establishment.slug
    assert book(Client(), place, address).status_code == 400
    assert Client().post("/mes-reservations/", {"email": address}).status_code == 400
    checkin = Client().post(
        "/reservation/validate", {"code": place.establishment.checkin_code, "email": address}
    )
    assert checkin.status_code == 400
    booked = json_post(
        "/reservations",
        {"place": place.pk, "start": TUESDAY_10.isoformat(), "duration": 60, "email": address},
    )
    assert booked.status_code in (400, 422), booked.content
    assert json_post("/auth/code", {"email": address}).status_code in (400, 422)
    assert json_post("/auth/token", {"email": address, "code": "123456"}).status_code in (400, 422)
    manager = UserFactory()
    StaffRole.objects.create(user=manager, establishment=place.establishment, role=Role.MANAGER)
    desk = Client()
    desk.force_login(manager)
    walk_in = desk.post(
        f"/desk/{slug}/sur-place/",
        {"resource": place.pk, "start": "10:00", "duration": 60, "email": address},
    )
    assert walk_in.status_code == 400  # the desk again, the form as typed and the error
    assert not Patron.objects.exists()
    assert not Reservation.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("name", ["Étage\n2", "Étage\r2", "Salle\x00", "Salle\u2028silence"])
def test_names_with_line_breaks_or_control_characters_are_refused(place, name):
    manager = UserFactory()
    establishment = place.establishment
    StaffRole.objects.create(user=manager, establishment=establishment, role=Role.MANAGER)
    desk = Client()
    desk.force_login(manager)
    areas = list(Area.objects.values_list("name", flat=True))
    answer = desk.post(f"/desk/{establishment.slug}/gestion/zones/", {"name": name})
    assert answer.status_code == 400
    assert list(Area.objects.values_list("name", flat=True)) == areas
    for model, field in [(Establishment, "name"), (Establishment, "address"), (Area, "name")]:
        with pytest.raises(ValidationError) as caught:
            model._meta.get_field(field).run_validators(name)
        assert caught.value.error_list[0].code == "control_characters"


def hostile_library():
    """Written straight to the database, as a legacy import might: validation never ran."""
    library = EstablishmentFactory(
        name="BU\r\nBcc: evil@example.org\r\nSubject: owned",
        address="1 rue\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:evil\r\nATTENDEE:mailto:evil@x",
    )
    area = AreaFactory(establishment=library, name="Étage\r\nX-Injected: 1")
    return ResourceFactory(area=area, label="Place\nDTSTART:19700101T000000Z")


def booked_and_confirmed(place) -> None:
    """Its e-mails carry the names: the confirmation request, then the confirmation (.ics)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        reservation = services.reservation_create(
            resource=place,
            email="alice@example.org",
            start=TUESDAY_10,
            end=TUESDAY_10 + timedelta(hours=1),
        )
        services.reservation_confirm(reservation=reservation)


def test_no_header_can_be_injected_into_an_email_from_names_or_addresses(db):
    booked_and_confirmed(hostile_library())
    deliver_due()
    assert mail.outbox
    for sent in mail.outbox:
        assert sent.recipients() == ["alice@example.org"]
        parsed = message_from_bytes(sent.message().as_bytes())
        assert parsed["Bcc"] is None
        assert parsed["X-Injected"] is None
        assert len(parsed.get_all("Subject") or []) == 1
        assert "\n" not in sent.subject
        assert "\r" not in sent.subject


def test_the_ics_file_carries_names_as_text_not_as_calendar_structure(db):
    booked_and_confirmed(hostile_library())
    (ics,) = [a for m in mail.outbox for a in m.attachments if a.filename.endswith(".ics")]
    calendar = Calendar.from_ical(ics.content)
    (event,) = list(calendar.walk("VEVENT"))
    assert "ATTENDEE" not in event
    assert event.decoded("dtstart") == TUESDAY_10
    assert "END:VEVENT" in str(event["location"])
    assert "DTSTART" in str(event["summary"])


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_a_csv_cell_that_starts_like_a_formula_is_written_as_text(start):
    assert neutralised(f'{start}HYPERLINK("http://evil")') == f'\'{start}HYPERLINK("http://evil")'
    out = io.StringIO()
    write_rows(out, [["name", f"{start}cmd|' /C calc'!A0"], ["count", 3]])
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0][1].startswith("'")
    assert rows[1] == ["count", "3"]


def test_the_statistics_csv_has_no_cell_a_spreadsheet_would_run(place):
    establishment = place.establishment
    for name in ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR"]:
        Area.objects.create(establishment=establishment, name=name)
    manager = UserFactory()
    StaffRole.objects.create(user=manager, establishment=establishment, role=Role.MANAGER)
    desk = Client()
    desk.force_login(manager)
    answer = desk.get(
        f"/desk/{establishment.slug}/statistiques.csv", {"from": "2026-03-01", "to": "2026-03-02"}
    )
    assert answer.status_code == 200
    for row in csv.reader(io.StringIO(answer.content.decode())):
        for cell in row:
            assert not cell.startswith(FORMULA_STARTS), row


def test_a_hostile_slot_or_duration_is_a_400_not_a_500(place):
    for slot, duration in [
        ("1-\r\n", 60),
        (slot_value(place.pk, TUESDAY_10), "6\x000"),
        ("\x00", 0),
    ]:
        answer = Client().post(
            f"/{place.establishment.slug}/reservation/reserver/",
            {"slot": slot, "duration": duration, "email": "alice@example.org"},
        )
        assert answer.status_code == 400
