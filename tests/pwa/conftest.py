"""The browser tests of the installable app use the journeys' Chromium and page fixtures."""

from tests.e2e.conftest import browser, devices, page, pytest_runtest_makereport

__all__ = ["browser", "devices", "page", "pytest_runtest_makereport"]
