"""Moving with the keyboard, and checking at every stop that the focus shows."""

import re
from typing import Any

from playwright.sync_api import Page

_FOCUS = """() => {
    const element = document.activeElement;
    if (!element || element === document.body) return null;
    // A radio of the grid is hidden (its label is the slot): the label shows the focus.
    let shown = element;
    const box = element.getBoundingClientRect();
    if ((box.width <= 2 || box.height <= 2 || getComputedStyle(element).opacity === '0')
        && element.labels && element.labels.length) shown = element.labels[0];
    const style = getComputedStyle(shown);
    let background = 'rgb(255, 255, 255)';
    for (let a = shown.parentElement; a; a = a.parentElement) {
        const colour = getComputedStyle(a).backgroundColor;
        if (colour !== 'rgba(0, 0, 0, 0)' && colour !== 'transparent') {
            background = colour;
            break;
        }
    }
    const rect = shown.getBoundingClientRect();
    return {
        tag: element.tagName.toLowerCase(),
        type: element.type || '',
        name: (element.getAttribute('aria-label') || element.innerText || element.value || '')
            .trim().replace(/\\s+/g, ' '),
        checked: !!element.checked,
        outlineStyle: style.outlineStyle,
        outlineWidth: parseFloat(style.outlineWidth) || 0,
        outlineColour: style.outlineColor,
        boxShadow: style.boxShadow,
        background,
        onScreen: rect.bottom > 0 && rect.top < innerHeight
            && rect.right > 0 && rect.left < innerWidth,
    };
}"""


def _luminance(colour: str) -> float:
    red, green, blue = (int(v) / 255 for v in re.findall(r"[\d.]+", colour)[:3])

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast(one: str, other: str) -> float:
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def focused(page: Page) -> dict[str, Any]:
    """What has the focus, after asserting that the focus shows: an outline at least 2 px wide
    with 3:1 contrast against what surrounds it (WCAG 2.4.7 and 1.4.11), on screen."""
    found = page.evaluate(_FOCUS)
    assert found is not None, f"nothing has the focus on {page.url}"
    where = f"{found['tag']} “{found['name']}” on {page.url}"
    assert found["outlineStyle"] != "none", f"no visible focus on {where}: {found}"
    assert found["outlineWidth"] >= 2, f"focus ring too thin on {where}: {found}"
    ratio = contrast(found["outlineColour"], found["background"])
    assert ratio >= 3, f"focus ring contrast {ratio:.2f}:1 on {where}: {found}"
    assert found["onScreen"], f"the focused {where} is off screen"
    return found


def tab_to(page: Page, name: str | re.Pattern[str], *, back: bool = False, limit: int = 60) -> dict:
    """Press Tab (Shift+Tab with ``back``) until the element named ``name`` has the focus,
    checking at every stop that the focus is visible."""
    # After a navigation by keyboard the address changes before the stylesheet has loaded:
    # a focus ring measured then is the browser's default one.
    page.wait_for_load_state("load")
    seen = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        found = focused(page)
        seen.append(found["name"])
        matches = (
            name.search(found["name"]) if isinstance(name, re.Pattern) else found["name"] == name
        )
        if matches:
            return found
    raise AssertionError(f"{name!r} not reached with the keyboard on {page.url}; seen {seen}")


def every_stop(page: Page, *, limit: int = 150) -> list[str]:
    """Tab from the top of the page to its last stop, checking the focus at every one; the
    names of the stops, in order."""
    stops = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement === document.body"):
            return stops  # past the last stop
        stops.append(focused(page)["name"])
    raise AssertionError(f"more than {limit} stops on {page.url}: {stops}")
