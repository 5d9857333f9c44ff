from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from strapontin.core.errors import DomainError
from strapontin.reservations import services
from strapontin.reservations.models import (
    DemoMail,
    Draw,
    DrawRequest,
    OutboxMessage,
    Patron,
    Reservation,
)


@admin.register(Patron)
class PatronAdmin(admin.ModelAdmin):
    list_display = ["email", "verified_at", "language", "created_at"]
    search_fields = ["email"]


@admin.register(Reservation)
class ReservationAdmin(admin.ModelAdmin):
    """Read-mostly: states change only through the services, never by editing a row."""

    list_display = ["reference", "resource", "establishment", "patron", "start", "end", "state"]
    list_filter = ["establishment", "state"]
    search_fields = ["reference", "patron__email", "resource__label"]
    date_hierarchy = "start"
    list_select_related = ["resource__area", "establishment", "patron"]
    readonly_fields = [f.name for f in Reservation._meta.fields]
    actions = ["cancel_by_staff"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Cancel (reason: cancelled by the library)")
    def cancel_by_staff(self, request: HttpRequest, queryset: QuerySet[Reservation]) -> None:
        for reservation in queryset:
            try:
                services.reservation_cancel_by_staff(
                    reservation=reservation,
                    user=request.user,  # type: ignore[arg-type]
                    reason="Annulée par la bibliothèque / Cancelled by the library",
                )
            except DomainError as error:
                self.message_user(request, f"{reservation}: {error.message}", messages.WARNING)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "cause", "to", "state", "attempts", "sent_at"]
    list_filter = ["state", "cause"]
    search_fields = ["to", "subject"]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]


@admin.register(DemoMail)
class DemoMailAdmin(admin.ModelAdmin):
    list_display = ["sent_at", "to", "subject"]


@admin.register(Draw)
class DrawAdmin(admin.ModelAdmin):
    """Read-only: a draw is made by reservations/lottery.py and checked by verify_draw."""

    list_display = ["establishment", "day", "closes_at", "completed_at"]
    list_filter = ["establishment"]
    readonly_fields = [f.name for f in Draw._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(DrawRequest)
class DrawRequestAdmin(admin.ModelAdmin):
    list_display = ["reference", "draw", "patron", "resource", "start", "state", "position"]
    list_filter = ["state", "draw__establishment"]
    search_fields = ["reference", "patron__email"]
    list_select_related = ["draw__establishment", "patron", "resource__area"]
    readonly_fields = [f.name for f in DrawRequest._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
