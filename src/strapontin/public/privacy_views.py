""" "Mes données" in Mes réservations: download them, or delete the account. Only a browser
that proved the address (a confirmation or sign-in link opened here) may do either."""

import json

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from strapontin.public import session
from strapontin.reservations.models import Patron
from strapontin.reservations.privacy import patron_erase, patron_export


class EraseForm(forms.Form):
    confirm = forms.BooleanField(
        label=gettext_lazy(
            "I understand: my upcoming reservations are cancelled and my address is erased."
        ),
        required=True,
    )


def _proven_patron(request: HttpRequest) -> Patron:
    known = session.known_patron_id(request)
    patron = Patron.objects.filter(pk=known, anonymised_at__isnull=True).first() if known else None
    if patron is None:
        raise Http404
    return patron


@never_cache
@require_safe
def my_data(request: HttpRequest) -> HttpResponse:
    patron = _proven_patron(request)
    response = HttpResponse(
        json.dumps(patron_export(patron=patron), ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="mes-donnees-strapontin.json"'
    return response


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def delete_account(request: HttpRequest) -> HttpResponse:
    patron = _proven_patron(request)
    form = EraseForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            return render(
                request, "public/delete_account.html", {"form": form, "patron": patron}, status=400
            )
        patron_erase(patron=patron)
        session.forget(request)
        messages.success(
            request,
            _(
                "Your account is deleted: your upcoming reservations are cancelled and your "
                "address is erased."
            ),
        )
        return redirect("public:my_reservations")
    return render(request, "public/delete_account.html", {"form": form, "patron": patron})
