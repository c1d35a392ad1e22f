from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "skills.documents"
    label = "documents"
    verbose_name = "Documents"
