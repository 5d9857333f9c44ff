"""The browser tests of the installable app use the journeys' Chromium and page fixtures."""

from tests.e2e.conftest import browser, page, pytest_runtest_makereport

__all__ = ["browser", "page", "pytest_runtest_makereport"]
