"""Domain errors with stable codes: interfaces map a code to a status, tests assert the code."""

from typing import Any

from django.utils.functional import Promise


class DomainError(Exception):
    """A rule refused the request. ``code`` never changes; ``message`` is for people."""

    #: HTTP status an interface should answer with for this code.
    STATUS_BY_CODE: dict[str, int] = {
        "slot_taken": 409,
        "patron_overlap": 409,
        "limit_reached": 409,
        "too_many_pending": 409,
        "already_cancelled": 409,
        "not_cancellable": 409,
        "confirmation_expired": 410,
        "offer_lapsed": 410,
        "not_offered": 409,
        "token_invalid": 404,
        "not_found": 404,
    }

    def __init__(self, code: str, message: str | Promise, **params: Any) -> None:
        super().__init__(str(message))
        self.code = code
        self.message = str(message)
        self.params = params

    @property
    def status(self) -> int:
        return self.STATUS_BY_CODE.get(self.code, 400)

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.message!r})"
