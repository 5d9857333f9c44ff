"""The mail server of the crash tests, in this process."""

from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from tests.reliability.servers import Inbox, free_port


@pytest.fixture
def inbox(caplog: pytest.LogCaptureFixture) -> Iterator[tuple[Inbox, int]]:
    caplog.set_level("WARNING", logger="mail.log")
    caplog.set_level("WARNING", logger="httpx")
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()
