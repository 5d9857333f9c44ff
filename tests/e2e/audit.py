"""What every page of a browser journey must pass, checked at each step by ``Journey.step``:

- axe-core (from npm, pinned by package-lock.json) with the WCAG 2.1 A and AA rules: no
  violation;
- reflow: no horizontal scrolling of the page at 320 CSS px wide (1280 px at 400 % zoom,
  WCAG 1.4.10) nor at 640 (1280 px at 200 %); zooming a window divides its CSS width by the
  zoom factor, which is what resizing the viewport does here;
- a screenshot of the step under test-artifacts/journeys/ (never compared: pictures differ
  from one run to the next, and that must not fail a test); a few of them, refreshed with
  ``STRAPONTIN_DOCS_SCREENSHOTS=1 ./run test tests/e2e``, are the README's pictures.

axe is evaluated in the page through the DevTools protocol, which the page's Content Security
Policy does not govern, so the audited page keeps its real policy and the ``page`` fixture
still fails a test on any CSP violation (a context with ``bypass_csp=True`` would switch the
policy off)."""

import json
import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from django.core.mail import EmailMessage
from playwright.sync_api import Page, ViewportSize

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
#: The rule sets of RGAA 4.1's basis: WCAG 2.0 and 2.1, levels A and AA.
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}


def screen_name(screen: ViewportSize) -> str:
    return "phone" if screen == PHONE else "desktop"


#: A 1280 × 1024 window zoomed to 400 % and to 200 %.
ZOOMED: dict[str, ViewportSize] = {
    "320 px (400 %)": {"width": 320, "height": 256},
    "640 px (200 %)": {"width": 640, "height": 512},
}


@cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def require_axe() -> None:
    """Outside CI a missing axe-core skips, saying how to install it; in CI nothing skips."""
    if AXE.exists():
        return
    hint = (
        "axe-core is not installed: run `npm ci` at the repository root "
        "(`./run test` does it when npm is there; apt-get install npm)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(hint)
    pytest.skip(hint)


def axe_violations(page: Page) -> list[dict[str, Any]]:
    require_axe()
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    return page.evaluate(
        """tags => axe.run(document, {
            runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
        }).then(results => results.violations)""",
        WCAG_21_AA,
    )


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """One paragraph per rule: what, how bad, where (CSS selectors), and axe's advice."""
    lines = []
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']}"
            f" <{violation['helpUrl']}>"
        )
        for node in violation["nodes"][:5]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {json.dumps(node['target'])}: {summary}")
            lines.append(f"      {node['html'][:200]}")
        if len(violation["nodes"]) > 5:
            lines.append(f"    … and {len(violation['nodes']) - 5} more")
    return "\n".join(lines)


def assert_no_axe_violations(page: Page, where: str) -> None:
    violations = axe_violations(page)
    assert not violations, (
        f"axe-core, WCAG 2.1 A/AA, {where} ({page.url}):\n{describe_violations(violations)}"
    )


_OVERFLOW = """() => {
    const page = document.scrollingElement;
    const width = page.clientWidth;
    const wide = [];
    for (const element of document.body.querySelectorAll('*')) {
        const box = element.getBoundingClientRect();
        if (box.right > width + 1 && box.width > 0) {
            // Name the outermost culprits only, not each of their descendants.
            if (!wide.some(outer => outer.contains(element))) wide.push(element);
        }
    }
    return {
        scrollWidth: page.scrollWidth,
        clientWidth: width,
        culprits: wide.slice(0, 5).map(e => {
            const classes = typeof e.className === 'string' ? e.className.trim() : '';
            const name = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                + (classes ? '.' + classes.split(/\\s+/).join('.') : '');
            return `${name} (right edge at ${Math.round(e.getBoundingClientRect().right)} px)`;
        }),
    };
}"""


def assert_reflows(page: Page, where: str) -> None:
    """No horizontal scrolling of the page at 320 and 640 CSS px; a region that scrolls on
    its own (a wide table) is allowed, the page itself is not."""
    original = page.viewport_size
    try:
        for label, size in ZOOMED.items():
            page.set_viewport_size(size)
            # Let scripts that follow the window's size (charts) lay out again first.
            page.evaluate(
                "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
            )
            found = page.evaluate(_OVERFLOW)
            assert found["scrollWidth"] <= found["clientWidth"], (
                f"{where} ({page.url}) scrolls horizontally at {label}: the page is "
                f"{found['scrollWidth']} px wide for {found['clientWidth']} px; "
                f"too wide: {found['culprits']}"
            )
    finally:
        if original is not None:
            page.set_viewport_size(original)


def assert_email_passes(page: Page, message: EmailMessage, where: str) -> None:
    """The HTML part of an e-mail, opened in ``page`` as a mail client would show it: axe and
    reflow, like the site's pages. ``page`` must be a fresh one (about:blank): a page of the
    site would apply the site's CSP to the e-mail's inline styles."""
    (html,) = [content for content, mimetype in message.alternatives if mimetype == "text/html"]
    page.set_content(str(html))
    where = f"the e-mail “{message.subject}” ({where})"
    assert_no_axe_violations(page, where)
    assert_reflows(page, where)


def _file_name(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass
class Journey:
    """Names one journey in one language on one screen, and numbers its steps: each step is
    audited (axe, reflow) and photographed into test-artifacts/journeys/<name>/."""

    name: str
    steps: list[str] = field(default_factory=list)

    def step(self, page: Page, label: str, *, docs: str | None = None) -> Path:
        """Audit the page and photograph it. ``docs`` names one of the pictures the README
        shows: with ``STRAPONTIN_DOCS_SCREENSHOTS=1`` its first screen is also written to
        docs/screenshots/<docs>.png (off by default, so that a test run leaves the repository
        as it was)."""
        self.steps.append(label)
        where = f"{self.name}, step {len(self.steps)} “{label}”"
        page.wait_for_load_state("load")
        assert_no_axe_violations(page, where)
        assert_reflows(page, where)
        path = ARTIFACTS / "journeys" / self.name / f"{len(self.steps):02d}-{_file_name(label)}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=path, full_page=True)
        if docs and os.environ.get("STRAPONTIN_DOCS_SCREENSHOTS") == "1":
            page.screenshot(path=ROOT / "docs" / "screenshots" / f"{docs}.png")
        return path
