"""Staff back-office (the full desk comes with the back-office issue)."""

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from strapontin.venues.models import Establishment


@staff_member_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "desk/home.html", {"establishments": Establishment.objects.all()})
