from django.urls import path

from skills.csi_shell import views

urlpatterns = [
    path("csi/v1/<str:function>", views.csi_shell, name="csi-shell"),
]
