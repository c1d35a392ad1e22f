"""Namespaces, skills, versions, tags and runs: the registry and the record of every invocation."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import RegexValidator
from django.db import models

from runtime import worlds

slug = RegexValidator(r"^[a-z0-9][a-z0-9_-]{0,62}$", "Use lowercase letters, digits, - and _ (max 63).")


class Namespace(models.Model):
    name = models.CharField(max_length=63, unique=True, validators=[slug])
    description = models.TextField(blank=True)
    native_tools = models.CharField(
        max_length=200, blank=True, help_text="Comma-separated native tools: add, subtract, saboteur."
    )
    max_concurrent_runs = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Runs of this namespace executing at once; empty for the kernel default.",
    )
    inference_url = models.URLField(
        blank=True,
        help_text="OpenAI-compatible base URL ending in /v1; overrides the kernel's for this namespace.",
    )
    inference_token = models.CharField(max_length=500, blank=True)
    inference_models = models.CharField(
        max_length=1000, blank=True, help_text="Comma-separated allow-list of models; empty allows all."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def native_tool_names(self) -> list[str]:
        return [name.strip() for name in self.native_tools.split(",") if name.strip()]


class NamespaceSource(models.Model):
    """Where a namespace's skills come from, GitOps-style (PhariaEngine's namespace configuration).

    Either a *namespace file* (TOML like PhariaEngine's ``namespace.toml``: ``skills``,
    ``mcp-servers``, ``native-tools``) read from a path, an http(s) URL or a Git repository, whose
    skills are pulled from an OCI registry (``registry`` + ``base_repository``) or from
    ``directory``; or a *watched directory* whose every ``*.wasm`` is a skill named after its file.
    The poller syncs enabled sources; ``applied`` is the last state applied in full.
    """

    NAMESPACE_FILE, DIRECTORY = "namespace-file", "directory"
    KINDS = [(NAMESPACE_FILE, "Namespace file (+ registry)"), (DIRECTORY, "Watched directory")]

    namespace = models.OneToOneField(Namespace, on_delete=models.CASCADE, related_name="source")
    kind = models.CharField(max_length=20, choices=KINDS, default=NAMESPACE_FILE)
    enabled = models.BooleanField(default=True)
    config_url = models.CharField(
        max_length=500,
        blank=True,
        help_text="The namespace file: a path, file:///path or http(s):// URL (empty with a Git repository)",
    )
    config_access_token = models.CharField(
        max_length=500, blank=True, help_text="Bearer token for an http(s) namespace file"
    )
    git_repository = models.CharField(
        max_length=500, blank=True, help_text="A Git repository holding the namespace file (URL or path)"
    )
    git_branch = models.CharField(max_length=200, blank=True, default="main")
    git_path = models.CharField(
        max_length=500, blank=True, default="namespace.toml", help_text="The file's path in the repository"
    )
    registry = models.CharField(
        max_length=300, blank=True, help_text="OCI registry host[:port] the file's skills are pulled from"
    )
    base_repository = models.CharField(
        max_length=300, blank=True, help_text="Repository prefix: skills are {base-repository}/{skill}:{tag}"
    )
    registry_user = models.CharField(max_length=200, blank=True)
    registry_password = models.CharField(max_length=500, blank=True, help_text="Password or token")
    registry_insecure = models.BooleanField(default=False, help_text="Plain HTTP (a registry on loopback)")
    directory = models.CharField(
        max_length=500,
        blank=True,
        help_text="A directory of *.wasm: the skills of a watched directory, or a file's local registry",
    )
    from_config = models.BooleanField(
        default=False, help_text="Declared in NAMESPACES_CONFIG: edits here are overwritten by the file"
    )
    applied = models.JSONField(default=dict, blank=True, help_text="The last state applied in full")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    syncing_until = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="A sync holds this lease, so one runs at a time"
    )

    class Meta:
        verbose_name = "namespace source"

    def __str__(self) -> str:
        return f"{self.namespace.name} ({self.get_kind_display()})"


class NamespaceGrant(models.Model):
    """What members of a group may do in a namespace. Superusers may do everything everywhere."""

    VIEW, INVOKE, DEPLOY = "view", "invoke", "deploy"
    ROLES = [(VIEW, "View"), (INVOKE, "View and invoke"), (DEPLOY, "View, invoke and deploy")]
    RANK = {VIEW: 1, INVOKE: 2, DEPLOY: 3}

    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="grants")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="namespace_grants")
    role = models.CharField(max_length=10, choices=ROLES, default=INVOKE)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["namespace", "group"], name="one_grant_per_group")]

    def __str__(self) -> str:
        return f"{self.group} may {self.role} in {self.namespace}"


class McpServer(models.Model):
    """An MCP server (streamable HTTP) whose tools the skills of a namespace may call."""

    namespace = models.ForeignKey(Namespace, on_delete=models.CASCADE, related_name="mcp_servers")
    name = models.CharField(max_length=63)
    url = models.URLField(max_length=500)
    headers = models.JSONField(default=dict, blank=True, help_text='e.g. {"Authorization": "Bearer ..."}')
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "MCP server"
        ordering = ["namespace__name", "name"]
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="unique_mcp_server_name")]

    def __str__(self) -> str:
        return f"{self.namespace.name}/{self.name} ({self.url})"


class Skill(models.Model):
    PROGRAMMABLE, CHAT = "programmable", "chat"

    namespace = models.ForeignKey(Namespace, on_delete=models.PROTECT, related_name="skills")
    name = models.CharField(max_length=63, validators=[slug])
    is_active = models.BooleanField(default=True, help_text="Inactive skills answer 404 and are hidden.")
    timeout_seconds = models.FloatField(null=True, blank=True, help_text="Overrides the kernel's time limit.")
    memory_mb = models.PositiveIntegerField(
        null=True, blank=True, help_text="Overrides the kernel's memory cap."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["namespace__name", "name"]
        constraints = [models.UniqueConstraint(fields=["namespace", "name"], name="unique_skill_name")]

    def __str__(self) -> str:
        return f"{self.namespace.name}/{self.name}"

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace.name}/{self.name}"


class SkillVersion(models.Model):
    PENDING, READY, FAILED = "pending", "ready", "failed"
    STATUSES = [(PENDING, "Pending"), (READY, "Ready"), (FAILED, "Failed")]
    UPLOAD, COMMAND, REGISTRY, DIRECTORY = "upload", "command", "registry", "directory"
    ORIGINS = [
        (UPLOAD, "Uploaded in the admin"),
        (COMMAND, "Registered by a command"),
        (REGISTRY, "Pulled from an OCI registry"),
        (DIRECTORY, "Read from a watched directory"),
    ]

    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="versions")
    digest = models.CharField(max_length=64, help_text="sha256 of the component bytes")
    size = models.PositiveBigIntegerField()
    component = models.CharField(max_length=255, help_text="Storage path of the uploaded component")
    world = models.CharField(max_length=40, blank=True)
    wit_version = models.CharField(max_length=20, blank=True)
    description = models.TextField(blank=True)
    input_schema = models.JSONField(null=True, blank=True)
    output_schema = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING, db_index=True)
    failure_reason = models.TextField(blank=True)
    artifact = models.CharField(max_length=255, blank=True, help_text="Storage path of the compiled artifact")
    artifact_key = models.CharField(
        max_length=100, blank=True, help_text="wasmtime version + engine settings"
    )
    artifact_size = models.PositiveBigIntegerField(null=True, blank=True)
    artifact_sha256 = models.CharField(
        max_length=64, blank=True, help_text="sha256 of the artifact, checked before every deserialize"
    )
    compile_seconds = models.FloatField(null=True, blank=True)
    origin = models.CharField(max_length=20, choices=ORIGINS, default=COMMAND)
    origin_reference = models.CharField(
        max_length=500, blank=True, help_text="Where it came from: registry reference or file path"
    )
    origin_digest = models.CharField(
        max_length=100, blank=True, help_text="The registry's manifest digest (sha256:...) when pulled"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["skill", "digest"], name="unique_version_digest")]

    def __str__(self) -> str:
        return f"{self.skill} @ {self.digest[:12]}"

    @property
    def skill_type(self) -> str:
        return Skill.CHAT if self.world == "message-stream-skill" else Skill.PROGRAMMABLE

    @property
    def world_version(self) -> worlds.WorldVersion | None:
        """What the version's WIT version offers (``None`` before it is compiled)."""
        if not self.wit_version:
            return None
        try:
            return worlds.check_version(self.wit_version)
        except worlds.UnsupportedWorld:
            return None


class Tag(models.Model):
    """A movable name for a version (``latest``, ``stable``); moving it is one atomic update."""

    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=63, validators=[slug])
    version = models.ForeignKey(SkillVersion, on_delete=models.PROTECT, related_name="tags")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["skill", "name"], name="unique_tag_name")]

    def __str__(self) -> str:
        return f"{self.skill}:{self.name}"


class Run(models.Model):
    QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
    STATUSES = [(s, s.title()) for s in (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)]
    TERMINAL = (SUCCEEDED, FAILED, CANCELLED)
    SYNC, ASYNC, STREAM = "sync", "async", "stream"
    MODES = [(SYNC, "Sync"), (ASYNC, "Async"), (STREAM, "Stream")]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="runs")
    version = models.ForeignKey(SkillVersion, on_delete=models.CASCADE, related_name="runs")
    tag = models.CharField(max_length=63, blank=True)
    caller = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    mode = models.CharField(max_length=10, choices=MODES, default=SYNC)
    input = models.TextField(help_text="The JSON input as received")
    output = models.TextField(blank=True, help_text="The JSON output, when the run succeeded")
    items = models.JSONField(default=list, blank=True, help_text="Message-stream items, in order")
    status = models.CharField(max_length=10, choices=STATUSES, default=QUEUED)
    error_kind = models.CharField(max_length=30, blank=True)
    error_message = models.TextField(blank=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True, help_text="Time inside the skill")
    attempts = models.PositiveSmallIntegerField(default=0)
    idempotency_key = models.CharField(max_length=200, blank=True)
    trace_id = models.CharField(max_length=32, blank=True, db_index=True)
    worker = models.CharField(max_length=200, blank=True, help_text="Host and process executing the run")
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-queued_at"]
        indexes = [
            models.Index(fields=["-queued_at"], name="run_recent"),
            models.Index(fields=["skill", "-queued_at"], name="run_by_skill"),
            models.Index(fields=["status", "-queued_at"], name="run_by_status"),
            models.Index(fields=["caller", "-queued_at"], name="run_by_caller"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["caller", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="unique_idempotency_key",
            )
        ]

    def __str__(self) -> str:
        return f"run {self.id} of {self.skill_id} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL


class Span(models.Model):
    """One OpenTelemetry span of a run: the execution, or a CSI call within it."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="spans")
    trace_id = models.CharField(max_length=32, db_index=True)
    span_id = models.CharField(max_length=16)
    parent_span_id = models.CharField(max_length=16, blank=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, blank=True)
    start_time = models.DateTimeField()
    end_time = models.DateTimeField()
    duration_ms = models.FloatField()
    status = models.CharField(max_length=10, default="unset")
    status_message = models.TextField(blank=True)
    attributes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["start_time"]
        indexes = [models.Index(fields=["run", "start_time"], name="span_by_run")]

    def __str__(self) -> str:
        return f"{self.name} ({self.duration_ms:.1f} ms)"


class ApiToken(models.Model):
    """A named API token. Only a hash of the secret is stored; it is shown once when created."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    label = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True, help_text="First characters, to recognise it")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.label} ({self.prefix}…) of {self.user}"


class LoginFailure(models.Model):
    """A wrong password at the catalogue's or the admin's login (skills/services/logins.py).

    Recent rows lock the account or the client address out; the database holds them so that every
    web process of a cluster counts the same. Rows older than the lockout window are deleted.
    """

    username = models.CharField(max_length=150, help_text="As typed, lower-cased; need not exist")
    address = models.CharField(max_length=64, blank=True, help_text="IPv4 address or IPv6 /64 network")
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["username", "at"], name="login_failure_by_username"),
            models.Index(fields=["address", "at"], name="login_failure_by_address"),
        ]

    def __str__(self) -> str:
        return f"{self.username} from {self.address or '?'} at {self.at:%Y-%m-%d %H:%M:%S}"
