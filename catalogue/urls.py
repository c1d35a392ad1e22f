from django.contrib.auth import views as auth_views
from django.urls import path

from catalogue import views
from catalogue.login import CatalogueLoginView

urlpatterns = [
    path("", views.index, name="catalogue-index"),
    path("login/", CatalogueLoginView.as_view(), name="login"),  # throttled, with a second factor
    path("logout/", auth_views.LogoutView.as_view(next_page="/login/"), name="logout"),
    path("activity/", views.activity, name="catalogue-activity"),
    path("runs/", views.run_list, name="catalogue-runs"),
    path("runs/<uuid:run_id>/", views.run_detail, name="catalogue-run"),
    path("skills/<str:namespace>/<str:name>/", views.skill_detail, name="catalogue-skill"),
    path("skills/<str:namespace>/<str:name>/try", views.try_run, name="catalogue-try"),
    path("skills/<str:namespace>/<str:name>/try-stream", views.try_stream, name="catalogue-try-stream"),
]
