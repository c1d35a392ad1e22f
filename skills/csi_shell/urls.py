from django.urls import path

from skills.csi_shell import views

urlpatterns = [
    path("csi/v1/<str:function>", views.csi_shell_v1, name="csi-shell"),
    path("csi/v2/<str:function>", views.csi_shell_v2, name="csi-shell-v2"),
    path("csi", views.csi_shell_legacy, name="csi-shell-legacy"),
]
