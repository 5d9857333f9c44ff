"""The grid for everyone, in a real Chromium: a new patron books with the keyboard alone (Tab,
Shift+Tab, arrows, Enter; never the mouse); focus is always visible; every slot has a name
("Place 3, Étage 1, 15:00–16:00, libre") and no state is shown by colour alone; the list view
offers exactly the grid's choices.

The clock is set to Monday 2 March 2026, 09:10 in Paris, and runs: 08:00 and 09:00 are past,
and the reservations below make taken and too-short slots."""

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from playwright.sync_api import Page, expect

from strapontin.reservations import services
from strapontin.reservations.models import Reservation, ReservationState
from strapontin.venues.models import Resource
from tests.conftest import MONDAY_MORNING, paris
from tests.e2e.audit import DESKTOP, PHONE, Journey
from tests.e2e.conftest import Devices
from tests.e2e.keyboard import every_stop, focused, tab_to
from tests.factories import AreaFactory, EstablishmentFactory, ResourceFactory

pytestmark = pytest.mark.e2e

FREE = {"fr": "libre", "en": "free"}
STATES = {
    "fr": {"busy": "occupé", "short": "libre, mais trop court pour cette durée", "past": "passé"},
    "en": {"busy": "taken", "short": "free, but too short for this duration", "past": "past"},
}


@pytest.fixture
def monday_0910() -> Iterator[None]:
    with time_machine.travel(MONDAY_MORNING + timedelta(minutes=10), tick=True):
        yield


@pytest.fixture
def places(transactional_db: None, monday_0910: None) -> list[Resource]:
    """Démo BU, Étage 1, Places 1–3 (08:00–22:00). Place 1 is taken 10:00–12:00 and Place 2
    14:00–15:00, so that with 2-hour reservations 13:00 on Place 2 is free but too short."""
    library = EstablishmentFactory(name="Démo BU", slug="demo-bu")
    floor = AreaFactory(establishment=library, name="Étage 1", position=1)
    seats = [ResourceFactory(area=floor, label=f"Place {n}", position=n) for n in (1, 2, 3)]
    for place, start, hours in [(seats[0], 10, 2), (seats[1], 14, 1)]:
        services.reservation_create(
            resource=place,
            email=f"other{start}@example.org",
            start=paris(2026, 3, 2, start, 0),
            end=paris(2026, 3, 2, start + hours, 0),
        )
    return seats


# --- The keyboard alone ------------------------------------------------------------------------


def test_a_new_patron_books_a_place_with_the_keyboard_alone(
    devices: Devices, places: list[Resource]
) -> None:
    page = devices.open(language="fr", screen=DESKTOP)
    page.goto("/")  # typing the address is all the patron does without Tab

    skip = tab_to(page, "Aller au contenu", limit=1)  # the first stop skips the menu
    assert skip["tag"] == "a"
    tab_to(page, "Démo BU")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/demo-bu/$"))
    tab_to(page, "Réserver")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/demo-bu/reservation/$"))

    # Into the grid: the slots are one group of radios; the arrows move and choose.
    first = tab_to(page, re.compile(r", libre$"))
    assert first["type"] == "radio"
    target = "Place 3, Étage 1, 15:00–16:00, libre"
    for _ in range(60):
        if focused(page)["name"] == target:
            break
        page.keyboard.press("ArrowDown")
    else:
        raise AssertionError(f"{target} not reached with the arrows")
    page.keyboard.press("Space")
    chosen = page.get_by_role("radio", name=target, exact=True)
    expect(chosen).to_be_checked()
    expect(page.locator('input[name="slot"]:checked')).to_have_count(1)

    chosen.evaluate("radio => radio.labels[0].scrollIntoView({block: 'center'})")
    Journey("keyboard-fr-desktop").step(
        page, "slot chosen with the arrows", docs="keyboard-desktop"
    )

    # Out of the group to "Réserver", back with Shift+Tab: the choice is where it was.
    tab_to(page, "Réserver", limit=3)
    assert tab_to(page, target, back=True, limit=3)["checked"]
    tab_to(page, "Réserver", limit=3)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/demo-bu/reservation/reserver/\?"))

    field = tab_to(page, re.compile(r"^$"), limit=20)  # the empty e-mail field
    assert (field["tag"], field["type"]) == ("input", "email")
    page.keyboard.type("nouvelle@example.org")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/demo-bu/reservation/[A-Z0-9]{8}/$"))
    expect(page.locator("main")).to_contain_text("Confirmer ma réservation")

    booked = Reservation.objects.get(patron__email="nouvelle@example.org")
    assert (booked.resource, booked.start, booked.end, booked.state) == (
        places[2],
        paris(2026, 3, 2, 15, 0),
        paris(2026, 3, 2, 16, 0),
        ReservationState.PENDING,
    )


PATRON_PAGES = [
    "/",
    "/demo-bu/",
    "/demo-bu/reservation/",
    "/demo-bu/reservation/?vue=liste",
    "/reservation/validate",
    "/mes-reservations/",
    "/demo-bu/aide/",
]


def test_the_focus_is_visible_on_every_stop_of_the_patron_pages(
    devices: Devices, places: list[Resource]
) -> None:
    page = devices.open(language="fr", screen=DESKTOP)
    for path in PATRON_PAGES:
        page.goto(path)
        stops = every_stop(page)
        assert len(stops) >= 5, (path, stops)  # the menu, the languages and the page's own


# --- Names and states of the slots ---------------------------------------------------------------


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_slot_is_named_with_its_place_floor_hours_and_state(
    devices: Devices, places: list[Resource], language: str
) -> None:
    page = devices.open(language=language, screen=DESKTOP)
    page.goto("/demo-bu/reservation/")
    free = FREE[language]

    radios = page.locator('input[name="slot"]')
    names = [radios.nth(i).get_attribute("aria-label") or "" for i in range(radios.count())]
    named = re.compile(rf"^Place [123], Étage 1, (\d\d):(\d\d)–(\d\d):(\d\d), {free}$")
    for name in names:
        found = named.match(name)
        assert found, name
        start, end = (int(found[1]) * 60 + int(found[2]), int(found[3]) * 60 + int(found[4]))
        assert end - start == 60, name  # the grid's default duration
    expect(
        page.get_by_role("radio", name=f"Place 3, Étage 1, 15:00–16:00, {free}", exact=True)
    ).to_have_count(1)

    # The other slots are read out in full too, state included.
    states = STATES[language]
    others = page.locator(".slot:not(.free) .visually-hidden").all_inner_texts()
    assert f"Place 1, Étage 1, 10:00–10:30, {states['busy']}" in others
    assert f"Place 2, Étage 1, 08:00–08:30, {states['past']}" in others
    # 08:00–21:30 every half hour, on three places: every cell is either choice or told.
    assert len(names) + len(others) == 3 * 28
    unnamed = [text for text in others if not re.match(r"^Place [123], Étage 1, ", text)]
    assert unnamed == []


_SIGNATURE = """element => {
    const style = getComputedStyle(element);
    return [
        style.borderTopStyle, style.borderTopWidth, style.textDecorationLine,
        style.backgroundImage === 'none' ? 'plain' : 'pattern',
        getComputedStyle(element, '::after').content,
        element.innerText.replace(/[0-9:\\s]/g, ''),
    ].join(' | ');
}"""


def test_no_state_of_a_slot_is_shown_by_colour_alone(
    devices: Devices, places: list[Resource]
) -> None:
    """Free, chosen, taken, too short and past differ by a border, a mark or a pattern, not
    only by their colours: what is left of each slot without colour is different."""
    page = devices.open(language="fr", screen=DESKTOP)
    page.goto("/demo-bu/reservation/?duration=120")
    page.get_by_role("radio", name="Place 3, Étage 1, 15:00–17:00, libre", exact=True).check()
    signatures = {
        state: page.locator(selector).first.evaluate(_SIGNATURE)
        for state, selector in {
            "free": "label.slot.free:not(:has(input:checked))",
            "chosen": "label.slot.free:has(input:checked)",
            "taken": ".slot.busy",
            "too short": ".slot.short",
            "past": ".slot.past",
        }.items()
    }
    assert len(set(signatures.values())) == len(signatures), signatures
    journey = Journey("grid-states-fr-desktop")
    journey.step(page, "grid, two hours, a slot chosen")


# --- The list view -------------------------------------------------------------------------------


def grid_choices(page: Page) -> set[str]:
    radios = page.locator('input[name="slot"]')
    return {radios.nth(i).get_attribute("value") or "" for i in range(radios.count())}


def list_choices(page: Page) -> set[str]:
    links = page.locator(".free-slots a")
    choices = set()
    for i in range(links.count()):
        query = parse_qs(urlsplit(links.nth(i).get_attribute("href") or "").query)
        choices.add(query["slot"][0])
    return choices


@pytest.mark.parametrize(
    ("language", "screen", "duration"),
    [pytest.param("fr", PHONE, 60, id="fr-phone-1h"), pytest.param("en", DESKTOP, 120, id="en-2h")],
)
def test_the_list_view_offers_the_same_slots_as_the_grid(
    devices: Devices, places: list[Resource], language: str, screen: Any, duration: int
) -> None:
    page = devices.open(language=language, screen=screen)
    journey = Journey(f"list-{language}-{duration}min")
    page.goto(f"/demo-bu/reservation/?duration={duration}")
    in_the_grid = grid_choices(page)
    assert len(in_the_grid) > 10

    as_a_list = {"fr": "Créneaux libres en liste", "en": "Free slots as a list"}[language]
    page.get_by_role("link", name=as_a_list).click()
    expect(page.locator(".free-slots")).to_have_count(3)
    journey.step(page, "free slots as a list", docs="list-phone" if language == "fr" else None)
    assert list_choices(page) == in_the_grid
    # Filters keep the list view, and the duration.
    expect(page.locator('form.filters input[name="vue"]')).to_have_value("liste")
    expect(page.locator('form.filters select[name="duration"]')).to_have_value(str(duration))

    end = 15 + duration // 60
    slot = page.get_by_role("link", name=re.compile(rf"^15:00–{end}:00\W+Place 3, Étage 1, "))
    slot.click()
    expect(page).to_have_url(re.compile(r"/demo-bu/reservation/reserver/\?"))
    expect(page.locator("dl.summary")).to_contain_text("Étage 1 - Place 3")
    expect(page.locator("dl.summary")).to_contain_text(f"15:00–{end}:00")
    journey.step(page, "from the list to the address")
