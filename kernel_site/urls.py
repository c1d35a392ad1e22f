from django.contrib import admin
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from catalogue.admin_site import install as install_admin_site
from skills.metrics import metrics_view

install_admin_site(admin.site)  # two-factor login when ADMIN_REQUIRE_2FA (kernel_site/settings_ui.py)

urlpatterns = [
    path("admin/", admin.site.urls),
    # Prometheus (skills/metrics.py): GET and HEAD only, so another method is a 405, not a CSRF 403
    path("metrics", csrf_exempt(require_safe(metrics_view)), name="metrics"),
    path("", include("skills.api.urls")),
    path("", include("skills.csi_shell.urls")),
    path("", include("skills.documents.urls")),
    path("", include("skills.evaluations.urls")),
    path("", include("catalogue.urls")),
]

# JSON errors under the API's paths, Django's pages elsewhere (skills/api/exceptions.py).
handler400 = "skills.api.exceptions.bad_request"
handler403 = "skills.api.exceptions.forbidden"
handler404 = "skills.api.exceptions.not_found"
handler500 = "skills.api.exceptions.server_error"
