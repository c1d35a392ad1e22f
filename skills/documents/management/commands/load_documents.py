"""``manage.py load_documents NAMESPACE/COLLECTION FOLDER``: text, Markdown and PDF files as documents."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from runtime.csi.types import CsiError
from skills.documents import loading, services
from skills.models import Namespace
from skills.services.errors import KernelError


class Command(BaseCommand):
    help = "Load a folder of text, Markdown and PDF files into a collection (created if missing)."

    def add_arguments(self, parser):
        parser.add_argument("collection", help="NAMESPACE/COLLECTION")
        parser.add_argument("folder", type=Path)
        parser.add_argument("--create-namespace", action="store_true", help="Create the namespace if missing")

    def handle(self, collection, folder, create_namespace, **options):
        namespace_name, _, name = collection.partition("/")
        if not namespace_name or not name:
            raise CommandError("name the collection as NAMESPACE/COLLECTION")
        if not folder.is_dir():
            raise CommandError(f"{folder} is not a folder")
        namespace = Namespace.objects.filter(name=namespace_name).first()
        if namespace is None and not create_namespace:
            raise CommandError(f"namespace '{namespace_name}' does not exist (--create-namespace creates it)")
        if namespace is None:
            namespace = Namespace.objects.create(name=namespace_name)
        loaded = 0
        try:
            target = services.ensure_collection(namespace, name)
            for path, skipped in loading.load_folder(target, folder):
                if skipped:
                    self.stdout.write(f"skipped {path} ({skipped})")
                else:
                    loaded += 1
                    if options["verbosity"] > 1:
                        self.stdout.write(f"loaded {path}")
        except (KernelError, CsiError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Loaded {loaded} documents into {namespace_name}/{name}.")
