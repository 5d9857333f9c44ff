from django.urls import path

from strapontin.desk import codes_views, management_views, manager_views, views

app_name = "desk"

urlpatterns = [
    path("", views.home, name="home"),
    path("<slug:slug>/", views.day, name="day"),
    path("<slug:slug>/reservations/<str:reference>/valider/", views.check_in, name="check_in"),
    path("<slug:slug>/reservations/<str:reference>/annuler/", views.cancel, name="cancel"),
    path("<slug:slug>/reservations/<str:reference>/pause/", views.start_break, name="start_break"),
    path("<slug:slug>/suspensions/<int:pk>/lever/", views.suspension_lift, name="suspension_lift"),
    path("<slug:slug>/affiche/", codes_views.poster, name="poster"),
    path("<slug:slug>/kiosque/", codes_views.kiosk_link_issue, name="kiosk_link_issue"),
    path(
        "<slug:slug>/code/nouveau/",
        codes_views.static_code_regenerate,
        name="static_code_regenerate",
    ),
    path("<slug:slug>/code/mode/", codes_views.checkin_mode_set, name="checkin_mode"),
    path("<slug:slug>/sur-place/", views.walk_in, name="walk_in"),
    path("<slug:slug>/fermetures/", manager_views.closures, name="closures"),
    path(
        "<slug:slug>/fermetures/<int:pk>/lever/",
        manager_views.closure_lift,
        name="closure_lift",
    ),
    path("<slug:slug>/statistiques/", manager_views.statistics, name="statistics"),
    path("<slug:slug>/statistiques.csv", manager_views.statistics_csv, name="statistics_csv"),
    path("<slug:slug>/journal/", manager_views.journal, name="journal"),
    path("<slug:slug>/gestion/", management_views.management, name="management"),
    path("<slug:slug>/gestion/zones/", management_views.area_create, name="area_create"),
    path(
        "<slug:slug>/gestion/zones/<int:pk>/renommer/",
        management_views.area_rename,
        name="area_rename",
    ),
    path(
        "<slug:slug>/gestion/zones/<int:pk>/deplacer/", management_views.area_move, name="area_move"
    ),
    path("<slug:slug>/gestion/places/", management_views.places_bulk, name="places_bulk"),
    path(
        "<slug:slug>/gestion/places/<int:pk>/",
        management_views.place_edit,
        name="place_edit",
    ),
    path(
        "<slug:slug>/gestion/caracteristiques/",
        management_views.feature_create,
        name="feature_create",
    ),
    path(
        "<slug:slug>/gestion/caracteristiques/<int:pk>/",
        management_views.feature_rename,
        name="feature_rename",
    ),
    path(
        "<slug:slug>/gestion/caracteristiques/<int:pk>/supprimer/",
        management_views.feature_remove,
        name="feature_remove",
    ),
    path(
        "<slug:slug>/gestion/places/<int:pk>/active/",
        management_views.place_active,
        name="place_active",
    ),
    path("<slug:slug>/gestion/horaires/", management_views.hours_add, name="hours_add"),
    path(
        "<slug:slug>/gestion/horaires/<int:pk>/supprimer/",
        management_views.hours_remove,
        name="hours_remove",
    ),
    path("<slug:slug>/gestion/regles/", management_views.policy, name="policy"),
    path("<slug:slug>/gestion/equipe/", management_views.staff_add, name="staff_add"),
    path(
        "<slug:slug>/gestion/equipe/<int:pk>/retirer/",
        management_views.staff_remove,
        name="staff_remove",
    ),
]
