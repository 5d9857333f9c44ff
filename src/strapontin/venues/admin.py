from django.contrib import admin

from strapontin.venues.models import (
    Area,
    BookingPolicy,
    Establishment,
    Feature,
    OpeningHours,
    Resource,
    ScheduleException,
)


class AreaInline(admin.TabularInline):
    model = Area
    extra = 0


class OpeningHoursInline(admin.TabularInline):
    model = OpeningHours
    extra = 0


class ScheduleExceptionInline(admin.TabularInline):
    model = ScheduleException
    extra = 0


@admin.register(Establishment)
class EstablishmentAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "timezone", "checkin_code", "is_active"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]
    inlines = [AreaInline, OpeningHoursInline, ScheduleExceptionInline]


@admin.register(Area)
class AreaAdmin(admin.ModelAdmin):
    list_display = ["name", "establishment", "position"]
    list_filter = ["establishment"]


@admin.register(Feature)
class FeatureAdmin(admin.ModelAdmin):
    list_display = ["code", "name_fr", "name_en"]


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    list_display = ["label", "area", "establishment", "kind", "capacity", "is_active"]
    list_filter = ["establishment", "area", "kind", "is_active", "features"]
    search_fields = ["label"]
    filter_horizontal = ["features"]
    list_select_related = ["area", "establishment"]


@admin.register(OpeningHours)
class OpeningHoursAdmin(admin.ModelAdmin):
    list_display = ["establishment", "weekday", "opens", "closes"]
    list_filter = ["establishment", "weekday"]


@admin.register(ScheduleException)
class ScheduleExceptionAdmin(admin.ModelAdmin):
    list_display = ["establishment", "date", "is_closed", "opens", "closes", "reason"]
    list_filter = ["establishment", "is_closed"]
    date_hierarchy = "date"


@admin.register(BookingPolicy)
class BookingPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "slot_minutes",
        "min_duration_minutes",
        "max_duration_minutes",
        "horizon_days",
        "confirmation_mode",
    ]
    list_filter = ["establishment"]
