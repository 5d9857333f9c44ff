from django.contrib import admin, messages
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from strapontin.api import credentials
from strapontin.api.models import PatronToken, StaffToken


def _actor(request: HttpRequest) -> AbstractBaseUser:
    assert isinstance(request.user, AbstractBaseUser)
    return request.user


@admin.register(StaffToken)
class StaffTokenAdmin(admin.ModelAdmin):
    """Adding a token shows its value once, in the confirmation message; only its hash stays."""

    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "prefix"]
    autocomplete_fields = ["user"]
    list_select_related = ["user"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: StaffToken | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "user"] if obj is not None else fields

    def save_model(self, request: HttpRequest, obj: StaffToken, form: object, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, raw = credentials.staff_token_create(
            user=obj.user, name=obj.name, actor=_actor(request)
        )
        for field in ("pk", "token_hash", "prefix", "created_at", "name"):
            setattr(obj, field, getattr(token, field))
        messages.warning(
            request,
            _("The token of %(user)s: %(token)s — copy it now, it will not be shown again.")
            % {"user": obj.user.get_username(), "token": raw},
        )

    @admin.action(description=gettext_lazy("Revoke the selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[StaffToken]) -> None:
        for token in queryset.filter(revoked_at__isnull=True):
            credentials.staff_token_revoke(token=token, actor=_actor(request))


@admin.register(PatronToken)
class PatronTokenAdmin(admin.ModelAdmin):
    """Tokens that apps got for an e-mailed code; revoke one if a phone is lost."""

    list_display = ["patron", "created_at", "last_used_at", "expires_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["patron__email"]
    list_select_related = ["patron"]
    readonly_fields = ["patron", "created_at", "last_used_at", "expires_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=gettext_lazy("Revoke the selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[PatronToken]) -> None:
        for token in queryset.filter(revoked_at__isnull=True).select_related("patron"):
            credentials.patron_token_revoke(token=token)
