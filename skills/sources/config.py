"""Namespace sources declared for GitOps in one file, the way PhariaEngine's ``config.toml`` does.

``NAMESPACES_CONFIG`` names a TOML file of ``[namespaces.<name>]`` tables::

    [namespaces.my-team]
    config-url = "https://git.example.com/my-team/skills/raw/main/namespace.toml"  # or file://…
    registry = "registry.example.com"
    base-repository = "my-org/my-team/skills"   # skills are {base-repository}/{skill}:{tag}

    [namespaces.gitops]
    git-repository = "https://git.example.com/team/skills.git"   # Skill Kernel: read it from Git
    git-branch = "main"
    git-path = "namespace.toml"
    registry = "registry.example.com"

    [namespaces.dev]
    directory = "skills"            # every skills/*.wasm, named after its file

Secrets need not be in the file: ``NAMESPACES__<NS>__<KEY>`` environment variables set or
override any key (``NAMESPACES__MY_TEAM__REGISTRY_PASSWORD``), and declare a namespace on their
own (``NAMESPACES__DEV__DIRECTORY=skills``), as in PhariaEngine. Declared sources are written to
the database (``from_config``) on every poll; a namespace dropped from the file stops syncing.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from pathlib import Path

from django.conf import settings
from django.db import transaction

from skills.models import McpServer, Namespace, NamespaceSource
from skills.sources.descriptions import SourceError, mcp_server_name

log = logging.getLogger(__name__)
ENV_KEY = re.compile(r"^NAMESPACES__([A-Z0-9_]+?)__([A-Z0-9_]+)$")
NAMESPACE_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# config key -> NamespaceSource field
FIELDS = {
    "config-url": "config_url",
    "config-access-token": "config_access_token",
    "git-repository": "git_repository",
    "git-branch": "git_branch",
    "git-path": "git_path",
    "registry": "registry",
    "base-repository": "base_repository",
    "registry-user": "registry_user",
    "registry-password": "registry_password",
    "registry-insecure": "registry_insecure",
    "path": "directory",  # a namespace file's local registry (PhariaEngine's file registry)
    "directory": "directory",  # a watched directory
}
TOOL_KEYS = {"mcp-servers", "native-tools"}


def declared(environ: dict[str, str] | None = None) -> dict[str, dict]:
    """namespace -> its table, from ``NAMESPACES_CONFIG`` and the environment; raises SourceError."""
    environ = os.environ if environ is None else environ
    tables: dict[str, dict] = {}
    path = settings.NAMESPACES_CONFIG
    if path:
        try:
            data = tomllib.loads(Path(path).read_text())
        except OSError as error:
            raise SourceError(f"cannot read NAMESPACES_CONFIG {path}: {error.strerror or error}") from None
        except tomllib.TOMLDecodeError as error:
            raise SourceError(f"NAMESPACES_CONFIG {path} is not valid TOML: {error}") from None
        namespaces = data.get("namespaces", {})
        if not isinstance(namespaces, dict):
            raise SourceError(f"NAMESPACES_CONFIG {path}: 'namespaces' must be a table of tables")
        tables = {name: dict(table) for name, table in namespaces.items()}
    for variable, value in environ.items():
        match = ENV_KEY.match(variable)
        if match:
            name = match.group(1).lower().replace("_", "-")
            tables.setdefault(name, {})[match.group(2).lower().replace("_", "-")] = value
    for name, table in tables.items():
        _validate(name, table)
    return tables


def _validate(name: str, table: dict) -> None:
    if not NAMESPACE_NAME.match(name) or len(name) > 63:
        raise SourceError(f"namespace {name!r}: names are lowercase letters and digits joined by '-'")
    unknown = sorted(set(table) - set(FIELDS) - TOOL_KEYS - {"skills"})
    if unknown:
        raise SourceError(f"namespace {name}: unknown key(s) {', '.join(unknown)}")
    if "skills" in table:
        raise SourceError(
            f"namespace {name}: skills listed in the operator config are not supported; "
            "put them in a namespace file (config-url or git-repository)"
        )
    has_file = bool(table.get("config-url") or table.get("git-repository"))
    if has_file == ("directory" in table):
        raise SourceError(
            f"namespace {name}: give either a namespace file (config-url or git-repository) or a directory"
        )
    if "path" in table and "registry" in table:
        raise SourceError(f"namespace {name}: give either a registry or a path, not both")


def apply(environ: dict[str, str] | None = None) -> list[str]:
    """Write the declared sources to the database; return the namespaces whose source changed.

    A config that does not parse changes nothing (the error is raised, the poller logs it)."""
    tables = declared(environ)
    changed: list[str] = []
    with transaction.atomic():
        for name, table in sorted(tables.items()):
            namespace, _ = Namespace.objects.get_or_create(name=name)
            values = _source_values(table)
            source = NamespaceSource.objects.filter(namespace=namespace).first()
            if source is None:
                NamespaceSource.objects.create(namespace=namespace, **values)
                changed.append(name)
            elif any(getattr(source, field) != value for field, value in values.items()):
                for field, value in values.items():
                    setattr(source, field, value)
                source.save()
                changed.append(name)
            if "directory" in table:
                _apply_directory_tools(namespace, table)
        gone = NamespaceSource.objects.filter(from_config=True, enabled=True).exclude(
            namespace__name__in=list(tables)
        )
        for source in gone.select_related("namespace"):
            changed.append(source.namespace.name)
        gone.update(enabled=False)
    return changed


def _source_values(table: dict) -> dict:
    kind = NamespaceSource.DIRECTORY if "directory" in table else NamespaceSource.NAMESPACE_FILE
    values = {field: "" for field in set(FIELDS.values())}
    values.update(kind=kind, enabled=True, from_config=True, git_branch="main", git_path="namespace.toml")
    values["registry_insecure"] = False
    for key, field in FIELDS.items():
        if key in table:
            value = table[key]
            values[field] = _truthy(value) if field == "registry_insecure" else str(value)
    return values


def _truthy(value: object) -> bool:
    return value is True or str(value).strip().lower() in {"1", "true", "yes", "on"}


def _apply_directory_tools(namespace: Namespace, table: dict) -> None:
    """A watched directory has no file to list tools in: the config table does (PhariaEngine)."""

    if "native-tools" in table:
        tools = table["native-tools"]
        native = ",".join(tools if isinstance(tools, list) else str(tools).split(","))
        Namespace.objects.filter(pk=namespace.pk).update(native_tools=native)
    if "mcp-servers" in table:
        urls = table["mcp-servers"]
        urls = urls if isinstance(urls, list) else [url for url in str(urls).split(",") if url]
        existing = set(McpServer.objects.filter(namespace=namespace).values_list("url", flat=True))
        taken = set(McpServer.objects.filter(namespace=namespace).values_list("name", flat=True))
        for url in urls:
            if url not in existing:
                name = mcp_server_name(url, taken)
                taken.add(name)
                McpServer.objects.create(namespace=namespace, name=name, url=url)
