from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from skills.models import SkillVersion, slug
from skills.services import execution, registry
from skills.services.errors import KernelError


class Command(BaseCommand):
    help = "Register a skill component (.wasm) as a version of NAMESPACE/NAME, compile it and tag it."

    def add_arguments(self, parser):
        parser.add_argument("namespace")
        parser.add_argument("name")
        parser.add_argument("path", type=Path)
        parser.add_argument("--tag", default=registry.DEFAULT_TAG)
        parser.add_argument(
            "--fast",
            action="store_true",
            help="Compile on the baseline tier (Winch, seconds); the kernel's processes build the "
            "optimised artifact in the background when they start",
        )

    def handle(self, namespace, name, path, tag, fast=False, **options):
        for what, value in (("namespace", namespace), ("skill name", name)):
            try:  # the admin's validators: get_or_create in register_version runs none
                slug(value)
            except ValidationError:
                raise CommandError(f"{what} {value!r}: {slug.message}") from None
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        try:
            result = registry.register_version(
                namespace,
                name,
                path.read_bytes(),
                tag=tag,
                fast=fast,
                origin_reference=str(path.resolve()),
            )
        except KernelError as error:
            raise CommandError(error.message) from None
        version = result.version
        if version.status != SkillVersion.READY:
            raise CommandError(f"{namespace}/{name} was not registered: {version.failure_reason}")
        state = "registered" if result.created else "already registered"
        baseline = execution.runtime().is_fast_key(version.artifact_key)
        later = "; optimised when the kernel starts" if baseline else ""
        self.stdout.write(
            f"{namespace}/{name}:{tag} -> sha256:{version.digest[:12]} ({state}; {version.world} "
            f"{version.wit_version}, compiled in {version.compile_seconds or 0:.1f} s{later})"
        )
