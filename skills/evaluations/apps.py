from django.apps import AppConfig


class EvaluationsConfig(AppConfig):
    name = "skills.evaluations"
    label = "evaluations"
    verbose_name = "Evaluations"
