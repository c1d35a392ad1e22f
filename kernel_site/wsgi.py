import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kernel_site.settings")
application = get_wsgi_application()

from skills.services.warmup import warm_web_process  # noqa: E402 - needs the app set up above

warm_web_process()
