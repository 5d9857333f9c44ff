"""Test data built through the domain's own models (factory_boy)."""

from datetime import time

import factory

from strapontin.venues.models import (
    Area,
    BookingPolicy,
    Establishment,
    OpeningHours,
    Resource,
)


class EstablishmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Establishment
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Bibliothèque {n}")
    slug = factory.Sequence(lambda n: f"bib-{n}")
    timezone = "Europe/Paris"
    address = "1 rue des Livres, Paris"

    @factory.post_generation
    def open_every_day(obj, create, extracted, **kwargs):
        """Open 08:00–22:00 seven days a week unless told otherwise."""
        if create and extracted is not False:
            OpeningHours.objects.bulk_create(
                OpeningHours(establishment=obj, weekday=d, opens=time(8), closes=time(22))
                for d in range(7)
            )


class AreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Area

    establishment = factory.SubFactory(EstablishmentFactory)
    # "Niveau", so that a test naming its own "Étage 2" never meets a generated one.
    name = factory.Sequence(lambda n: f"Niveau {n}")
    position = factory.Sequence(int)


class ResourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resource

    area = factory.SubFactory(AreaFactory)
    label = factory.Sequence(lambda n: f"Place {n}")


class BookingPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BookingPolicy

    establishment = factory.SubFactory(EstablishmentFactory)


class UserFactory(factory.django.DjangoModelFactory):
    """A staff account (it signs in through the admin's login page)."""

    class Meta:
        model = "auth.User"
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@bib.example.org")
    is_staff = True
    password = factory.django.Password("secret-password")


class StaffRoleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "desk.StaffRole"

    user = factory.SubFactory(UserFactory)
    establishment = factory.SubFactory(EstablishmentFactory)
    role = "desk"


def reservation_in_march_2026(place, patron, day, start_hour, end_hour, state, **extra):
    """A reservation row as history has left it (statistics, live figures): stored as is,
    since no transition of today's services leads to a past state on a past day."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from strapontin.reservations.models import Reservation

    paris = ZoneInfo("Europe/Paris")
    start = datetime(2026, 3, day, start_hour, 0, tzinfo=paris)
    end = datetime(2026, 3, day, end_hour, 0, tzinfo=paris)
    return Reservation.objects.create(
        establishment=place.establishment,
        resource=place,
        patron=patron,
        start=start,
        end=end,
        state=state,
        created_at=start - timedelta(days=1),
        checkin_opens_at=start,
        checkin_closes_at=end,
        **extra,
    )
