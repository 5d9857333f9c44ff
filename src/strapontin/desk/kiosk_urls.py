from django.urls import path

from strapontin.desk import kiosk_views

app_name = "kiosk"

urlpatterns = [
    path("<slug:slug>/<str:key>/", kiosk_views.screen, name="screen"),
]
