from django.urls import path

from strapontin.public import (
    accessibility,
    checkin_views,
    links,
    lottery_views,
    privacy_views,
    pwa_views,
    views,
    waitlist_views,
)

app_name = "public"

urlpatterns = [
    path("", views.establishments, name="establishments"),
    path("manifest.webmanifest", pwa_views.manifest, name="manifest"),
    path("sw.js", pwa_views.service_worker, name="service_worker"),
    path("hors-ligne/", pwa_views.offline, name="offline"),
    path("reservation/validate", checkin_views.validate, name="validate"),
    path("mes-reservations/", views.my_reservations, name="my_reservations"),
    path(
        "mes-reservations/<str:reference>/liberer/", checkin_views.leave_early, name="leave_early"
    ),
    path("mes-reservations/<str:reference>/pause/", checkin_views.take_break, name="take_break"),
    path("mes-reservations/oublier/", views.forget_browser, name="forget_browser"),
    path(
        "mes-reservations/<str:reference>/place-gardee/",
        waitlist_views.my_offer,
        name="my_offer",
    ),
    path(
        "mes-reservations/liste-attente/<str:reference>/quitter/",
        waitlist_views.my_waitlist_leave,
        name="my_waitlist_leave",
    ),
    path("mes-reservations/mes-donnees.json", privacy_views.my_data, name="my_data"),
    path(
        "mes-reservations/supprimer-mon-compte/",
        privacy_views.delete_account,
        name="delete_account",
    ),
    path("confidentialite/", views.privacy, name="privacy"),
    path(
        "mes-reservations/<str:reference>/annuler/",
        views.my_reservation_cancel,
        name="my_reservation_cancel",
    ),
    # The token-free pages first: what the e-mails' links redirect to (see public/links.py).
    path("r/confirmer/<str:reference>/", links.confirm, name="link_confirm"),
    path("r/annuler/<str:reference>/", links.cancel, name="link_cancel"),
    path("r/connexion/", links.sign_in, name="link_sign_in"),
    path("r/tirage/<str:reference>/", lottery_views.confirm, name="link_draw"),
    path("r/place-gardee/<str:reference>/", links.offer, name="link_offer"),
    path("r/liste-attente/<str:reference>/", links.leave_waitlist, name="link_waitlist"),
    path("r/lien-invalide/", links.link_invalid, name="link_invalid"),
    path("r/<str:token>/confirmer/", links.token_confirm, name="token_confirm"),
    path("r/<str:token>/annuler/", links.token_cancel, name="token_cancel"),
    path("r/<str:token>/connexion/", links.token_sign_in, name="token_sign_in"),
    path("r/<str:token>/tirage/", links.token_draw, name="token_draw"),
    path("r/<str:token>/place-gardee/", links.token_offer, name="token_offer"),
    path("r/<str:token>/liste-attente/", links.token_waitlist, name="token_waitlist"),
    path("accessibilite/", accessibility.statement, name="accessibility"),
    path("demo/mails/", views.demo_mailbox, name="demo_mailbox"),
    path("demo/mails/<int:pk>/", views.demo_mail, name="demo_mail"),
    path("<slug:slug>/", views.establishment, name="establishment"),
    path("<slug:slug>/aide/", views.help_page, name="help"),
    path("<slug:slug>/affluence.json", views.live_occupancy, name="live_occupancy"),
    path("<slug:slug>/reservation/", views.reservation_grid, name="reservation"),
    path("<slug:slug>/reservation/reserver/", views.book, name="book"),
    path("<slug:slug>/tirage/<str:day>/", lottery_views.draw_page, name="draw"),
    path(
        "<slug:slug>/tirage/demande/<str:reference>/",
        lottery_views.request_sent,
        name="draw_request_sent",
    ),
    path("<slug:slug>/reservation/liste-attente/", waitlist_views.join, name="waitlist_join"),
    path("<slug:slug>/reservation/<str:reference>/", views.sent, name="sent"),
]
