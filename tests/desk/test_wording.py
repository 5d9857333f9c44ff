"""French wording, as a French reader and a translator need it: every string translated with all
its plural forms, a no-break space before ":" ";" "?" "!", placeholders kept, counts that agree
with their noun ("1 minute", "0 réservation"), and no punctuation or sentence fragment glued to
a translation in templates or code (a translator must see whole sentences)."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.urls import reverse

from strapontin.public import checkin_views
from strapontin.reservations import presence, services
from strapontin.reservations.models import Patron
from strapontin.venues.models import BookingPolicy
from tests.conftest import paris
from tests.desk.conftest import book_confirmed, signed_in
from tests.factories import StaffRoleFactory

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "strapontin"
FRENCH_CATALOGUES = [
    PACKAGE / "locale" / "fr" / "LC_MESSAGES" / "django.po",
]
TEMPLATE_DIRS = [
    PACKAGE / "desk" / "templates",
    PACKAGE / "public" / "templates",
    PACKAGE / "reservations" / "templates",
    PACKAGE / "api" / "templates",
]
NO_BREAK = "\u00a0\u202f"


def entries(path: Path) -> list[dict]:
    """The entries of a .po file: msgid, msgid_plural, msgstr forms, flags (enough for checks)."""
    found = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry: dict = {"flags": "", "msgstr": []}
        key = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] += line
            elif line.startswith("#"):
                continue
            elif line.startswith('"') and key:
                value = json.loads(line)
                if key == "msgstr":
                    entry["msgstr"][-1] += value
                else:
                    entry[key] += value
            else:
                key, _space, rest = line.partition(" ")
                if key.startswith("msgstr"):
                    entry["msgstr"].append(json.loads(rest))
                    key = "msgstr"
                else:
                    entry[key] = json.loads(rest)
        if entry.get("msgid"):
            found.append(entry)
    return found


@pytest.mark.parametrize("path", FRENCH_CATALOGUES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_french_string_is_translated_with_each_plural_form(path):
    catalogue = entries(path)
    assert len(catalogue) > 20
    for entry in catalogue:
        assert "fuzzy" not in entry["flags"], entry["msgid"]
        assert all(entry["msgstr"]), entry["msgid"]
        if "msgid_plural" in entry:
            assert len(entry["msgstr"]) >= 2, entry["msgid"]


PLACEHOLDER = re.compile(r"%\((\w+)\)")


@pytest.mark.parametrize("path", FRENCH_CATALOGUES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_translations_keep_the_placeholders(path):
    for entry in entries(path):
        wanted = set(PLACEHOLDER.findall(entry["msgid"] + entry.get("msgid_plural", "")))
        for form in entry["msgstr"]:
            # A singular form may say "la place" for one without its number.
            assert set(PLACEHOLDER.findall(form)) <= wanted, entry["msgid"]
            if "msgid_plural" not in entry:
                assert set(PLACEHOLDER.findall(form)) == wanted, entry["msgid"]


@pytest.mark.parametrize("path", FRENCH_CATALOGUES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_french_puts_a_no_break_space_before_double_punctuation(path):
    """ "Motif : …", never "Motif: …" nor a space where the line may break before the colon."""
    for entry in entries(path):
        for form in entry["msgstr"]:
            text = re.sub(r"https?://\S+|Authorization: Bearer <[^>]+>", "", form)
            for match in re.finditer(r"(.)([:;?!»])(?=\s|$|<|[.,])", text):
                assert match.group(1) in NO_BREAK, (entry["msgid"], form)
            for match in re.finditer(r"«(.)", text):
                assert match.group(1) in NO_BREAK, (entry["msgid"], form)


def template_sources():
    for directory in TEMPLATE_DIRS:
        for path in sorted(directory.rglob("*")):
            if path.suffix in (".html", ".txt"):
                yield path


def test_no_punctuation_is_glued_to_a_translation_in_templates():
    """``{% translate "Reason" %}: {{ r }}`` gives "Motif: …" in French: a translator must get
    the whole "Reason: %(reason)s"."""
    glued = re.compile(
        r"{%\s*(?:translate|trans)\s+\"[^\"]*\"\s*%}\s*[:;]"  # colon after the tag
        r"|{%\s*endblocktranslate\s*%}\s*[:;]"
        r"|{%\s*(?:translate|trans)\s+\"[^\"]*:\"\s*%}[ \t]*{{"  # "Label:" then a value
    )
    found = [
        f"{path.relative_to(PACKAGE)}: {match.group(0)}"
        for path in template_sources()
        for match in glued.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_no_message_is_glued_together_in_python():
    """``f"{label}: {error}"`` in a message hides the sentence from translators. (The Django
    admin, for superusers, is not translated.)"""
    glued = re.compile(r"""f["'][^"'\n]*\}[:;] ?\{""")
    found = [
        f"{path.relative_to(PACKAGE)}:{number}"
        for app in ("desk", "public", "reservations", "venues")
        for path in sorted((PACKAGE / app).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if glued.search(line) and "messages." in line and path.name != "admin.py"
    ]
    assert found == []


# --- What French readers see ---------------------------------------------------------------

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def french(client):
    client.cookies["django_language"] = "fr"
    return client


def test_the_desk_counts_agree_with_their_number_in_french(place_a, agent, clock):
    here = book_confirmed(place_a, "here@example.org")
    clock.move_to(paris(2026, 3, 2, 10, 5))
    presence.reservation_check_in_at_desk(reservation=here, user=agent)
    client = signed_in(agent)
    client.cookies["django_language"] = "fr"
    html = client.get("/desk/bib-a/").content.decode()
    assert "<strong>1</strong> présent en ce moment" in html
    assert "<strong>0</strong> attendu en ce moment" in html  # French: zero is singular
    assert "<strong>0</strong> place libre en ce moment" in html
    assert "1</strong> présents" not in html


@pytest.mark.parametrize(
    ("before", "after", "words"),
    [
        (1, 1, "de 1 minute avant le début de votre réservation jusqu'à 1 minute après"),
        (15, 30, "de 15 minutes avant le début de votre réservation jusqu'à 30 minutes après"),
    ],
)
def test_the_check_in_window_is_said_in_minutes_that_agree(place, french, before, after, words):
    BookingPolicy.objects.update_or_create(
        establishment=place.establishment,
        area=None,
        defaults={"checkin_opens_before_minutes": before, "checkin_closes_after_minutes": after},
    )
    help_page = french.get(reverse("public:help", args=[place.establishment.slug]))
    assert words in help_page.content.decode()
    staff = StaffRoleFactory(establishment=place.establishment, role="desk").user
    poster = signed_in(staff).get(reverse("desk:poster", args=[place.establishment.slug]))
    assert f"Validez votre présence {words}" in poster.content.decode()


def test_a_client_blocked_for_less_than_a_minute_reads_1_minute(place, french, clock):
    validate = reverse("public:validate")
    data = {"code": "ZZZZZZZZ", "email": "alice@example.org"}
    for _attempt in range(checkin_views.WRONG_CODES_PER_CLIENT):
        french.post(validate, data)
    blocked = french.post(validate, data)
    assert blocked.status_code == 429
    clock.shift(timedelta(seconds=int(blocked["Retry-After"]) - 30))
    almost = french.post(validate, data)
    assert almost.status_code == 429
    assert "Réessayez dans 1 minute," in almost.content.decode()


def test_a_closure_that_affects_nobody_says_so_in_a_whole_sentence(place_a, manager):
    client = signed_in(manager)
    client.cookies["django_language"] = "fr"
    response = client.post(
        "/desk/bib-a/fermetures/",
        {
            "first_day": "2026-03-09",
            "last_day": "2026-03-09",
            "kind": "closed",
            "reason": "Inventaire",
            "confirm": "1",
        },
        follow=True,
    )
    assert "Horaires modifiés\u00a0; aucune réservation n&#x27;était concernée." in response.text
    assert "0 réservation annulée" not in response.text


def test_the_cancellation_email_says_the_reason_in_one_french_sentence(
    place, django_capture_on_commit_callbacks
):
    staff = StaffRoleFactory(establishment=place.establishment, role="desk").user
    Patron.objects.create(email="alice@example.org", verified_at=paris(2026, 3, 1, 9, 0))
    with django_capture_on_commit_callbacks(execute=True):
        reservation = services.reservation_create(
            resource=place,
            email="alice@example.org",
            language="fr",
            start=paris(2026, 3, 3, 10, 0),
            end=paris(2026, 3, 3, 11, 0),
        )
        services.reservation_cancel_by_staff(
            reservation=reservation, user=staff, reason="Fuite d'eau <salle 2> & travaux"
        )
    message = mail.outbox[-1]
    assert (
        "par le personnel de la bibliothèque. Motif\u00a0: Fuite d'eau <salle 2> & travaux"
        in message.body
    )
    assert f"Bibliothèque\u00a0: {place.establishment.name}" in message.body
    assert f"Référence\u00a0: {reservation.reference}" in message.body
    html = message.alternatives[0].content
    assert "Motif\u00a0: Fuite d&#x27;eau &lt;salle 2&gt; &amp; travaux" in html
    assert "<salle 2>" not in html  # staff text is escaped in the HTML e-mail
