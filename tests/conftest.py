"""Shared fixtures. The clock is frozen on a Monday morning in Paris for every test that
asks for ``clock``; tests move it with ``clock.shift``/``clock.move_to``."""

import os
import shutil
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings

from strapontin.venues.models import Resource
from tests.factories import ResourceFactory

# Tests serve static files from the apps' folders with their plain names: production's
# manifest of hashed names needs collectstatic first (tests/config/test_static_files.py runs
# it, under production settings). Set before the first request builds the middleware.
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
settings.WHITENOISE_USE_FINDERS = True

PARIS = ZoneInfo("Europe/Paris")
#: Monday 2 March 2026, 09:00 in Paris.
MONDAY_MORNING = datetime(2026, 3, 2, 9, 0, tzinfo=PARIS)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(MONDAY_MORNING, tick=False) as traveller:
        yield traveller


@pytest.fixture
def place(db: None) -> Resource:
    return ResourceFactory()


@pytest.fixture(autouse=True)
def _immediate_tasks(settings: pytest.FixtureRequest) -> None:
    """Tasks run at once in tests (Django's ImmediateBackend), e-mails after each commit (a
    delivery task queued by each commit that wrote one, instead of the worker's pass)."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    settings.OUTBOX_SEND_AFTER_COMMIT = True


def chromium_path() -> str | None:
    return (
        os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    )


def require_chromium() -> str:
    """Outside CI a missing browser skips, saying how to install it; in CI nothing skips."""
    path = chromium_path()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required in CI (apt-get install chromium)")
        pytest.skip("needs Debian's chromium: sudo apt-get install chromium")
    return path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests of PostgreSQL-only guards (the exclusion constraint) are not collected on SQLite,
    where that guard does not exist: they run in the PostgreSQL pass, and nothing is skipped."""
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    kept = [item for item in items if item.get_closest_marker("postgresql") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept
