from django.apps import AppConfig


class SkillsConfig(AppConfig):
    name = "skills"
    verbose_name = "Skills"

    def ready(self) -> None:
        from skills import telemetry

        telemetry.setup()  # tracer provider, exporters and Django/Celery instrumentation (settings_telemetry)
