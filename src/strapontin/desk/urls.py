from django.urls import path

from strapontin.desk import codes_views, views

app_name = "desk"

urlpatterns = [
    path("", views.home, name="home"),
    path("<slug:slug>/", views.day, name="day"),
    path("<slug:slug>/reservations/<str:reference>/valider/", views.check_in, name="check_in"),
    path("<slug:slug>/reservations/<str:reference>/annuler/", views.cancel, name="cancel"),
    path("<slug:slug>/suspensions/<int:pk>/lever/", views.suspension_lift, name="suspension_lift"),
    path("<slug:slug>/affiche/", codes_views.poster, name="poster"),
    path("<slug:slug>/kiosque/", codes_views.kiosk_link_issue, name="kiosk_link_issue"),
    path(
        "<slug:slug>/code/nouveau/",
        codes_views.static_code_regenerate,
        name="static_code_regenerate",
    ),
    path("<slug:slug>/code/mode/", codes_views.checkin_mode_set, name="checkin_mode"),
]
