"""Managers run their establishment: areas, places, opening hours, booking policy. One page
shows it all; each form posts to its own small view, which calls one management service."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from strapontin.core.errors import DomainError
from strapontin.desk import catalogue, team
from strapontin.desk import management_services as manage
from strapontin.desk.forms import (
    AreaForm,
    BulkPlacesForm,
    FeatureForm,
    OpeningHoursForm,
    PlaceForm,
    PolicyForm,
    StaffMemberForm,
)
from strapontin.desk.models import Role, StaffRole
from strapontin.desk.views import establishment_for, staff_user
from strapontin.venues.models import (
    Area,
    BookingPolicy,
    Establishment,
    Feature,
    OpeningHours,
    Resource,
)


def _feature_prefix(feature: Feature) -> str:
    return f"feature-{feature.pk}"


def _catalogue(
    request: HttpRequest, establishment: Establishment, bound: FeatureForm | None = None
) -> list[tuple[catalogue.CatalogueEntry, FeatureForm | None]]:
    """Each feature, with its rename form where this user may rename it."""
    is_superuser = getattr(request.user, "is_superuser", False)
    rows: list[tuple[catalogue.CatalogueEntry, FeatureForm | None]] = []
    for entry in catalogue.catalogue(establishment):
        form = None
        if is_superuser or not entry.elsewhere:
            prefix = _feature_prefix(entry.feature)
            form = (
                bound
                if bound is not None and bound.prefix == prefix
                else FeatureForm(
                    prefix=prefix,
                    initial={"name_fr": entry.feature.name_fr, "name_en": entry.feature.name_en},
                )
            )
        rows.append((entry, form))
    return rows


def _page(
    request: HttpRequest,
    establishment: Establishment,
    status: int = 200,
    feature_rename_form: FeatureForm | None = None,
    **forms: Any,
) -> HttpResponse:
    policy = BookingPolicy.objects.filter(establishment=establishment, area__isnull=True).first()
    context = {
        "establishment": establishment,
        "areas": Area.objects.filter(establishment=establishment).annotate(
            places=Count("resources")
        ),
        "places": Resource.objects.filter(establishment=establishment)
        .select_related("area")
        .prefetch_related("features"),
        "hours": OpeningHours.objects.filter(establishment=establishment),
        "area_form": AreaForm(establishment=establishment),
        "bulk_form": BulkPlacesForm(establishment=establishment),
        "hours_form": OpeningHoursForm(establishment=establishment),
        "policy_form": PolicyForm(instance=policy or BookingPolicy(establishment=establishment)),
        "team": StaffRole.objects.filter(establishment=establishment).select_related("user"),
        "staff_form": StaffMemberForm(),
        "catalogue": _catalogue(request, establishment, feature_rename_form),
        "feature_form": FeatureForm(),
    }
    context.update(forms)
    return render(request, "desk/management.html", context, status=status)


def _back(establishment: Establishment, anchor: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("desk:management", args=[establishment.slug]) + anchor)


@require_safe
@never_cache
@login_required
def management(request: HttpRequest, slug: str) -> HttpResponse:
    return _page(request, establishment_for(request, slug, Role.MANAGER))


@require_POST
@login_required
def area_create(request: HttpRequest, slug: str) -> HttpResponse:
    establishment = establishment_for(request, slug, Role.MANAGER)
    form = AreaForm(request.POST, establishment=establishment)
    if form.is_valid():
        try:
            manage.area_create(
                establishment=establishment,
                name=form.cleaned_data["name"],
                user=staff_user(request),
            )
        except DomainError as error:
            form.add_error("name", error.message)
        else:
            messages.success(request, _("Floor or zone added."))
            return _back(establishment, "#areas")
    return _page(request, establishment, status=400, area_form=form)


def _area(establishment: Establishment, pk: int) -> Area:
    return get_object_or_404(Area, establishment=establishment, pk=pk)


@require_POST
@login_required
def area_rename(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    establishment = establishment_for(request, slug, Role.MANAGER)
    area = _area(establishment, pk)
    form = AreaForm(
        request.POST, instance=Area.objects.get(pk=area.pk), establishment=establishment
    )
    if form.is_valid():
        try:
            manage.area_rename(area=area, name=form.cleaned_data["name"], user=staff_user(request))
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Floor or zone renamed."))
    else:
        for problem in form.errors.get("name", []):
            messages.error(
                request,
                _("“%(area)s” is not renamed: %(problem)s")
                % {"area": area.name, "problem": problem},
            )
    return _back(establishment, "#areas")


@require_POST
@login_required
def area_move(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    establishment = establishment_for(request, slug, Role.MANAGER)
    area = _area(establishment, pk)
    manage.area_move(area=area, up=request.POST.get("direction") == "up", user=staff_user(request))
    return _back(establishment, "#areas")


@require_POST
@login_required
def places_bulk(request: HttpRequest, slug: str) -> HttpResponse:
    establishment = establishment_for(request, slug, Role.MANAGER)
    form = BulkPlacesForm(request.POST, establishment=establishment)
    if form.is_valid():
        data = form.cleaned_data
        try:
            places = manage.places_create_bulk(
                area=data["area"],
                labels=form.labels(),
                kind=data["kind"],
                capacity=data["capacity"],
                features=list(data["features"]),
                user=staff_user(request),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                ngettext(
                    "%(n)d place created on %(area)s.",
                    "%(n)d places created on %(area)s.",
                    len(places),
                )
                % {"n": len(places), "area": data["area"]},
            )
            return _back(establishment, "#places")
    return _page(request, establishment, status=400, bulk_form=form)


@require_POST
@login_required
def place_active(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    establishment = establishment_for(request, slug, Role.MANAGER)
    place = get_object_or_404(
        Resource.objects.select_related("area"), establishment=establishment, pk=pk
    )
    active = request.POST.get("active") == "1"
    manage.place_set_active(place=place, active=active, user=staff_user(request))
    messages.success(
        request,
        (_("%(place)s can be booked.") if active else _("%(place)s cannot be booked any more."))
        % {"place": place},
    )
    return _back(establishment, f"#place-{place.pk}")


@require_http_methods(["GET", "HEAD", "POST"])
@never_cache
@login_required
def place_edit(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """One place: label, floor or zone, kind, capacity, position, bookable flag, features."""
    establishment = establishment_for(request, slug, Role.MANAGER)
    place = get_object_or_404(
        Resource.objects.select_related("area"), establishment=establishment, pk=pk
    )
    form = PlaceForm(request.POST or None, instance=place, establishment=establishment)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                changed = manage.place_update(
                    place=Resource.objects.select_related("area").get(pk=place.pk),
                    values={name: data[name] for name in manage.PLACE_FIELDS},
                    features=list(data["features"]),
                    user=staff_user(request),
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                messages.success(
                    request,
                    _("%(place)s is saved.") % {"place": place}
                    if changed
                    else _("Nothing changed on %(place)s.") % {"place": place},
                )
                return _back(establishment, f"#place-{place.pk}")
        status = 400
    return render(
        request,
        "desk/place_edit.html",
        {"establishment": establishment, "place": place, "form": form},
        status=status,
    )


@require_POST
@login_required
def feature_create(request: HttpRequest, slug: str) -> HttpResponse:
    establishment = establishment_for(request, slug, Role.MANAGER)
    form = FeatureForm(request.POST)
    if form.is_valid():
        try:
            feature = catalogue.feature_create(
                establishment=establishment,
                name_fr=form.cleaned_data["name_fr"],
                name_en=form.cleaned_data["name_en"],
                user=staff_user(request),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _("Feature “%(name)s” added: attach it to places from their page.")
                % {"name": feature.name},
            )
            return _back(establishment, "#features")
    return _page(request, establishment, status=400, feature_form=form)


@require_POST
@login_required
def feature_rename(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    establishment = establishment_for(request, slug, Role.MANAGER)
    feature = get_object_or_404(Feature, pk=pk)
    form = FeatureForm(request.POST, prefix=_feature_prefix(feature))
    if form.is_valid():
        try:
            catalogue.feature_rename(
                feature=feature,
                establishment=establishment,
                name_fr=form.cleaned_data["name_fr"],
                name_en=form.cleaned_data["name_en"],
                user=staff_user(request),
            )
        except DomainError as error:
            if error.code == "feature_shared":
                messages.error(request, error.message)
                return _back(establishment, "#features")
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Feature renamed."))
            return _back(establishment, "#features")
    return _page(request, establishment, status=400, feature_rename_form=form)


@require_POST
@login_required
def feature_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    establishment = establishment_for(request, slug, Role.MANAGER)
    feature = get_object_or_404(Feature, pk=pk)
    name = feature.name
    try:
        places = catalogue.feature_remove(
            feature=feature, establishment=establishment, user=staff_user(request)
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            ngettext(
                "Feature “%(name)s” removed from the catalogue and from %(n)s place.",
                "Feature “%(name)s” removed from the catalogue and from %(n)s places.",
                places,
            )
            % {"name": name, "n": places}
            if places
            else _("Feature “%(name)s” removed from the catalogue.") % {"name": name},
        )
    return _back(establishment, "#features")


@require_POST
@login_required
def hours_add(request: HttpRequest, slug: str) -> HttpResponse:
    establishment = establishment_for(request, slug, Role.MANAGER)
    form = OpeningHoursForm(request.POST, establishment=establishment)
    if form.is_valid():
        try:
            manage.opening_hours_add(
                establishment=establishment,
                weekday=form.cleaned_data["weekday"],
                opens=form.cleaned_data["opens"],
                closes=form.cleaned_data["closes"],
                user=staff_user(request),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Opening hours added."))
            return _back(establishment, "#hours")
    return _page(request, establishment, status=400, hours_form=form)


@require_POST
@login_required
def hours_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    establishment = establishment_for(request, slug, Role.MANAGER)
    hours = get_object_or_404(OpeningHours, establishment=establishment, pk=pk)
    manage.opening_hours_remove(hours=hours, user=staff_user(request))
    messages.success(request, _("Opening hours removed."))
    return _back(establishment, "#hours")


@require_POST
@login_required
def policy(request: HttpRequest, slug: str) -> HttpResponse:
    establishment = establishment_for(request, slug, Role.MANAGER)
    current = BookingPolicy.objects.filter(establishment=establishment, area__isnull=True).first()
    form = PolicyForm(request.POST, instance=current or BookingPolicy(establishment=establishment))
    if form.is_valid():
        try:
            manage.policy_update(
                establishment=establishment,
                values={name: form.cleaned_data[name] for name in PolicyForm.Meta.fields},
                user=staff_user(request),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Booking rules saved."))
            return _back(establishment, "#policy")
    return _page(request, establishment, status=400, policy_form=form)


@require_POST
@login_required
def staff_add(request: HttpRequest, slug: str) -> HttpResponse:
    establishment = establishment_for(request, slug, Role.MANAGER)
    form = StaffMemberForm(request.POST)
    if form.is_valid():
        try:
            team.staff_member_add(
                establishment=establishment,
                username=form.cleaned_data["username"],
                role=Role(form.cleaned_data["role"]),
                password=form.cleaned_data["password"],
                user=staff_user(request),
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The team is updated."))
            return _back(establishment, "#team")
    return _page(request, establishment, status=400, staff_form=form)


@require_POST
@login_required
def staff_remove(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    establishment = establishment_for(request, slug, Role.MANAGER)
    staff_role = get_object_or_404(
        StaffRole.objects.select_related("user"), pk=pk, establishment=establishment
    )
    try:
        team.staff_member_remove(staff_role=staff_role, user=staff_user(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The team is updated."))
    return _back(establishment, "#team")
