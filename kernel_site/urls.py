from django.contrib import admin
from django.urls import include, path

from catalogue.admin_site import install as install_admin_site
from skills.metrics import metrics_view

install_admin_site(admin.site)  # two-factor login when ADMIN_REQUIRE_2FA (kernel_site/settings_ui.py)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("metrics", metrics_view, name="metrics"),  # Prometheus (skills/metrics.py)
    path("", include("skills.api.urls")),
    path("", include("skills.csi_shell.urls")),
    path("", include("catalogue.urls")),
]
