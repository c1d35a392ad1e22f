"""``manage.py reap_runs [--every SECONDS]``: end the runs of lost workers (cron or a sidecar).

Every Celery worker and every embedded web process already runs this reaper in a thread (a
restarted embedded kernel ends its crashed predecessor's runs within seconds); the command is for
deployments that prefer an external schedule.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from skills.services import cancellation


class Command(BaseCommand):
    help = "Requeue (once) or fail running runs whose worker stopped heartbeating."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--every", type=float, default=0, help="Repeat every N seconds (0: once).")

    def handle(self, *args, every: float = 0, **options) -> None:
        while True:
            counts = cancellation.reap_lost_runs()
            self.stdout.write(f"requeued {counts['requeued']}, failed {counts['failed']}")
            if not every:
                return
            time.sleep(every)
