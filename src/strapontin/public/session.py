"""What a browser remembers: the patron it has proven to be, and what it booked itself.

Booking from a browser shows that reservation there; only a link from the e-mail (confirm
or sign in) proves the address, and only then does the browser see all of its reservations.
"""

from django.http import HttpRequest

from strapontin.reservations.models import Patron, Reservation

MAX_REMEMBERED = 50


def remember_reservation(request: HttpRequest, reservation: Reservation) -> None:
    ids = [i for i in request.session.get("reservation_ids", []) if i != reservation.pk]
    request.session["reservation_ids"] = [*ids, reservation.pk][-MAX_REMEMBERED:]


def remember_patron(request: HttpRequest, patron: Patron) -> None:
    request.session.cycle_key()
    request.session["patron_id"] = patron.pk


def known_patron_id(request: HttpRequest) -> int | None:
    value = request.session.get("patron_id")
    return int(value) if value else None


def known_patron(request: HttpRequest) -> Patron | None:
    """The patron this browser proved to be; an erased patron is nobody, on every browser
    that had signed in as them."""
    known = known_patron_id(request)
    if not known:
        return None
    return Patron.objects.filter(pk=known, anonymised_at__isnull=True).first()


def remembered_reservation_ids(request: HttpRequest) -> list[int]:
    return [int(i) for i in request.session.get("reservation_ids", [])]


def owns(request: HttpRequest, reservation: Reservation) -> bool:
    return reservation.pk in remembered_reservation_ids(
        request
    ) or reservation.patron_id == known_patron_id(request)


def forget(request: HttpRequest) -> None:
    request.session.flush()
