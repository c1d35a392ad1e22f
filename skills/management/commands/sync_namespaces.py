from django.core.management.base import BaseCommand, CommandError

from skills.sources import poller


class Command(BaseCommand):
    help = (
        "Sync every namespace source (NAMESPACES_CONFIG and the sources set in the admin) and print "
        "what changed; without --once, repeat every NAMESPACE_UPDATE_INTERVAL (a poller process)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Sync once and exit (1 if a source failed)")
        parser.add_argument("--interval", type=float, help="Seconds between syncs (default: the setting)")

    def handle(self, once, interval, **options):
        if not once:
            poller.run_forever(interval=interval, on_reports=self._print)
            return
        reports = poller.sync_all()
        self._print(reports)
        if not reports:
            self.stdout.write("no namespace sources: set NAMESPACES_CONFIG or add one in the admin")
        failed = [report.namespace for report in reports if report.errors]
        if failed:
            raise CommandError(f"{len(failed)} source(s) failed: {', '.join(failed)}")

    def _print(self, reports) -> None:
        for report in reports:
            for line in report.lines():
                self.stdout.write(line)
