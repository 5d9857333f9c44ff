"""Booking restricted to some e-mail domains: an establishment (a university's library) can
admit only addresses of its domains and their subdomains. Others are refused with a stable code
and a message naming the allowed domains, on every way of booking; the answer depends on the
address typed only, never on who has booked before (no enumeration)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import translation

from strapontin.core.errors import DomainError
from strapontin.public.forms import slot_value
from strapontin.reservations import services
from strapontin.reservations.models import Patron, Reservation
from strapontin.venues.models import BookingPolicy
from strapontin.venues.policy import allowed_domains, check_email_domain, email_domain_allowed
from tests.conftest import paris
from tests.factories import AreaFactory, BookingPolicyFactory, ResourceFactory, UserFactory

pytestmark = pytest.mark.usefixtures("clock")

TUESDAY_10 = paris(2026, 3, 3, 10, 0)


@pytest.fixture
def restricted(place):
    BookingPolicyFactory(
        establishment=place.establishment, allowed_email_domains="univ-example.fr, @ens.example"
    )
    return place


def book(place, email, **extra):
    return services.reservation_create(
        resource=place, email=email, start=TUESDAY_10, end=TUESDAY_10 + timedelta(hours=1), **extra
    )


@pytest.mark.parametrize(
    ("email", "allowed"),
    [
        ("alice@univ-example.fr", True),
        ("Alice@UNIV-EXAMPLE.FR", True),
        ("bob@etu.univ-example.fr", True),  # a subdomain of an allowed domain
        ("carl@ens.example", True),
        ("dan@example.org", False),
        ("eve@notuniv-example.fr", False),  # only a suffix, not a subdomain
        ("fay@univ-example.fr.evil.example", False),
    ],
)
def test_which_addresses_an_establishment_admits(email, allowed):
    policy = BookingPolicy(allowed_email_domains="univ-example.fr, @ens.example")
    assert allowed_domains(policy) == ["univ-example.fr", "ens.example"]
    assert email_domain_allowed(policy, email) is allowed


def test_no_domains_means_any_address():
    assert email_domain_allowed(BookingPolicy(), "anyone@example.org")


def test_another_domain_is_refused_naming_the_allowed_ones_in_both_languages(restricted):
    for language, words in (("fr", "Seules les adresses"), ("en", "reserved for addresses")):
        with translation.override(language), pytest.raises(DomainError) as caught:
            book(restricted, "dan@example.org")
        assert caught.value.code == "email_domain_not_allowed"
        assert words in caught.value.message
        assert "@univ-example.fr, @ens.example" in caught.value.message
    assert not Reservation.objects.exists()
    assert not Patron.objects.exists()  # refused before anything about the address is looked up


def test_an_allowed_address_books_as_usual(restricted):
    assert book(restricted, "alice@etu.univ-example.fr").pk


def test_the_refusal_is_the_same_for_a_known_patron_and_a_stranger(restricted, place):
    """Someone who booked elsewhere with that address gets the very same answer."""
    elsewhere = ResourceFactory()
    book(elsewhere, "dan@example.org")
    with pytest.raises(DomainError) as known:
        book(restricted, "dan@example.org")
    with pytest.raises(DomainError) as stranger:
        book(restricted, "zoe@example.org")
    assert known.value.code == stranger.value.code == "email_domain_not_allowed"
    assert known.value.message == stranger.value.message


def test_the_desk_cannot_book_a_walk_in_with_another_domain_either(restricted):
    with pytest.raises(DomainError) as caught:
        book(restricted, "dan@example.org", booked_by=UserFactory(is_staff=True))
    assert caught.value.code == "email_domain_not_allowed"


def test_an_area_with_its_own_rules_follows_them(restricted):
    """The policy of the place's floor or zone applies, as for every rule."""
    open_floor = AreaFactory(establishment=restricted.establishment)
    BookingPolicyFactory(establishment=restricted.establishment, area=open_floor)
    assert book(ResourceFactory(area=open_floor), "dan@example.org").pk


def test_the_public_pages_say_it_up_front_and_the_form_answers_with_a_4xx(restricted):
    client = Client()
    slug = restricted.establishment.slug
    for url in (f"/{slug}/", f"/{slug}/reservation/?date=2026-03-03"):
        page = client.get(url).content.decode()
        assert 'data-domains="@univ-example.fr, @ens.example"' in page
    book_url = f"/{slug}/reservation/reserver/"
    slot = {"slot": slot_value(restricted.pk, TUESDAY_10), "duration": 60}
    assert "@univ-example.fr" in client.get(book_url, slot).content.decode()
    refused = client.post(book_url, slot | {"email": "dan@example.org"})
    assert refused.status_code == 400
    assert refused.context["error_code"] == "email_domain_not_allowed"
    assert client.post(book_url, slot | {"email": "alice@univ-example.fr"}).status_code == 302


def test_an_unrestricted_establishment_says_nothing_about_domains(place):
    assert "data-domains" not in Client().get(f"/{place.establishment.slug}/").content.decode()


def test_the_api_refuses_with_the_same_code(restricted, client):
    answer = client.post(
        "/api/v1/reservations",
        {
            "place": restricted.pk,
            "start": TUESDAY_10.isoformat(),
            "duration": 60,
            "email": "dan@example.org",
        },
        content_type="application/json",
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "email_domain_not_allowed"


def test_one_function_serves_every_way_of_booking():
    """The waitlist and the lottery call the same check: it raises the same coded error."""
    with pytest.raises(DomainError) as caught:
        check_email_domain(BookingPolicy(allowed_email_domains="univ-example.fr"), "x@y.org")
    assert caught.value.code == "email_domain_not_allowed"
