from django.contrib import admin
from django.http import HttpRequest

from strapontin.desk.models import StaffRole


@admin.register(StaffRole)
class StaffRoleAdmin(admin.ModelAdmin):
    list_display = ["user", "establishment", "role"]
    list_filter = ["establishment", "role"]
    search_fields = ["user__username", "user__email", "establishment__name"]
    autocomplete_fields = ["user", "establishment"]
    list_select_related = ["user", "establishment"]

    def save_model(self, request: HttpRequest, obj: StaffRole, form: object, change: bool) -> None:
        """Staff sign in through the admin's login page, which lets in staff accounts only."""
        super().save_model(request, obj, form, change)
        if not obj.user.is_staff:
            obj.user.is_staff = True
            obj.user.save(update_fields=["is_staff"])
