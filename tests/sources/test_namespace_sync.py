"""Namespace sources without a registry: watched directories and namespace files (path, HTTP, Git),
their failure modes, the config file, the command, the admin action and the metrics."""

from __future__ import annotations

import http.server
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from rest_framework.test import APIClient

from skills.models import McpServer, Namespace, NamespaceSource, Skill, SkillVersion
from skills.services import registry
from skills.sources import config, poller, sync
from tests.support.components import fresh_copy
from tests.support.deploy import HELLO_ANSWER, SINK_ANSWER, commit_file, run


@pytest.fixture
def components(skill_wasm, example_wasm) -> dict[str, Path]:
    return {"sink": skill_wasm["kitchen_sink"], "hello": example_wasm["hello"]}


def store_of(tmp_path: Path, components: dict[str, Path], *names: str) -> Path:
    """A directory holding ``{name}.wasm`` for each of ``names`` (the sink or hello component)."""
    store = tmp_path / "store"
    store.mkdir()
    for name in names:
        shutil.copy(components[name], store / f"{name}.wasm")
    return store


def directory_source(directory: Path, namespace: str = "dev") -> NamespaceSource:
    ns = Namespace.objects.create(name=namespace)
    return NamespaceSource.objects.create(
        namespace=ns, kind=NamespaceSource.DIRECTORY, directory=str(directory)
    )


def file_source(namespace: str = "team", **fields) -> NamespaceSource:
    ns = Namespace.objects.create(name=namespace)
    return NamespaceSource.objects.create(namespace=ns, kind=NamespaceSource.NAMESPACE_FILE, **fields)


def sync_now(source: NamespaceSource) -> sync.SyncReport:
    report = sync.sync_source(source.pk)
    source.refresh_from_db()
    return report


def wait_for_optimiser() -> None:
    registry._optimiser().submit(lambda: None).result(timeout=300)


# -- watched directory ---------------------------------------------------------------------------


def test_a_watched_directory_adds_updates_and_removes_skills(client, components, tmp_path):
    skills = tmp_path / "skills"
    skills.mkdir()
    shutil.copy(components["sink"], skills / "greet.wasm")
    source = directory_source(skills)

    report = sync_now(source)
    assert report.ok, report.errors
    assert [line.split(" (")[0] for line in report.changes] == ["added greet"]
    assert run(client, "dev/greet") == (200, SINK_ANSWER)
    version = SkillVersion.objects.get(skill__name="greet")
    assert (version.origin, version.origin_reference) == ("directory", str(skills / "greet.wasm"))
    assert source.last_success_at and not source.last_error

    assert sync_now(source).changes == []  # nothing changed: nothing re-read or re-registered

    shutil.copy(components["hello"], skills / "greet.wasm")
    report = sync_now(source)
    assert [line.split(" (")[0] for line in report.changes] == ["updated greet"]
    assert run(client, "dev/greet") == (200, HELLO_ANSWER)
    assert SkillVersion.objects.filter(skill__name="greet").count() == 2  # the old one is kept

    (skills / "greet.wasm").unlink()
    assert sync_now(source).changes == ["removed greet"]
    status, body = run(client, "dev/greet")
    assert status == 404
    assert not Skill.objects.get(name="greet").is_active

    shutil.copy(components["sink"], skills / "greet.wasm")  # back again: the known version serves
    assert [line.split(" (")[0] for line in sync_now(source).changes] == ["added greet"]
    assert run(client, "dev/greet") == (200, SINK_ANSWER)


def test_a_new_component_serves_from_the_fast_tier_then_swaps_in_cranelift(
    client, components, tmp_path, settings
):
    settings.SKILL_FAST_DEPLOY = True
    skills = tmp_path / "skills"
    skills.mkdir()
    (skills / "fresh.wasm").write_bytes(fresh_copy(components["sink"].read_bytes(), "fast-tier"))
    source = directory_source(skills)

    assert sync_now(source).ok
    version = SkillVersion.objects.get(skill__name="fresh")
    from skills.services import execution

    runtime = execution.runtime()
    if runtime.fast_tier_available:
        assert runtime.is_fast_key(version.artifact_key)
    assert run(client, "dev/fresh") == (200, SINK_ANSWER)

    baseline = version.artifact
    wait_for_optimiser()
    version.refresh_from_db()
    assert version.artifact_key == runtime.artifact_key
    if runtime.fast_tier_available:  # the Winch artifact is removed once nothing serves it
        from django.core.files.storage import default_storage

        assert not default_storage.exists(baseline)
    assert run(client, "dev/fresh") == (200, SINK_ANSWER)


def test_a_broken_file_fails_alone_and_is_not_retried_until_it_changes(client, components, tmp_path):
    skills = tmp_path / "skills"
    skills.mkdir()
    shutil.copy(components["sink"], skills / "good.wasm")
    (skills / "broken.wasm").write_bytes(b"\0asm not really a component")
    source = directory_source(skills)

    report = sync_now(source)
    assert [line.split(" (")[0] for line in report.changes] == ["added good"]
    assert len(report.errors) == 1 and report.errors[0].startswith("broken:")
    assert "does not load" in source.last_error and source.consecutive_failures == 1
    assert run(client, "dev/good") == (200, SINK_ANSWER)
    assert run(client, "dev/broken")[0] == 404

    versions = SkillVersion.objects.count()
    assert sync_now(source).errors == report.errors  # the same file: remembered, not recompiled
    assert SkillVersion.objects.count() == versions

    (skills / "broken.wasm").unlink()
    report = sync_now(source)
    assert report.ok and not source.last_error and source.consecutive_failures == 0


def test_a_missing_directory_keeps_the_last_good_state(client, components, tmp_path):
    skills = tmp_path / "skills"
    skills.mkdir()
    shutil.copy(components["sink"], skills / "greet.wasm")
    source = directory_source(skills)
    assert sync_now(source).ok

    shutil.rmtree(skills)
    report = sync_now(source)
    assert report.errors == [f"the watched directory {skills} does not exist or is not a directory"]
    assert source.last_error == report.errors[0] and source.consecutive_failures == 1
    assert run(client, "dev/greet") == (200, SINK_ANSWER)  # still served


# -- namespace files -----------------------------------------------------------------------------


def test_a_namespace_file_lists_skills_tools_and_mcp_servers(client, components, tmp_path):
    store = store_of(tmp_path, components, "sink", "hello")
    namespace_file = tmp_path / "namespace.toml"
    namespace_file.write_text(
        'skills = [{ name = "sink" }, { name = "hello", tag = "latest" }]\n'
        'mcp-servers = ["http://127.0.0.1:9/mcp"]\n'
        'native-tools = ["add", "subtract"]\n'
    )
    McpServer.objects.create(
        namespace=Namespace.objects.create(name="team"), name="by-hand", url="http://127.0.0.1:8/mcp"
    )
    ns = Namespace.objects.get(name="team")
    source = NamespaceSource.objects.create(
        namespace=ns, config_url=f"file://{namespace_file}", directory=str(store)
    )

    report = sync_now(source)
    assert report.ok, report.errors
    assert sorted(line.split(" (")[0] for line in report.changes) == [
        "added MCP server http://127.0.0.1:9/mcp",
        "added hello",
        "added sink",
        "native tools: add,subtract",
    ]
    assert run(client, "team/sink") == (200, SINK_ANSWER)
    assert run(client, "team/hello") == (200, HELLO_ANSWER)
    ns.refresh_from_db()
    assert ns.native_tool_names == ["add", "subtract"]
    assert sorted(McpServer.objects.filter(namespace=ns).values_list("url", flat=True)) == [
        "http://127.0.0.1:8/mcp",
        "http://127.0.0.1:9/mcp",
    ]

    namespace_file.write_text('skills = [{ name = "hello" }]\nmcp-servers = []\nnative-tools = ["add"]\n')
    report = sync_now(source)
    assert sorted(report.changes) == [
        "native tools: add",
        "removed MCP server http://127.0.0.1:9/mcp",
        "removed sink",
    ]
    assert run(client, "team/sink")[0] == 404
    assert list(McpServer.objects.filter(namespace=ns).values_list("name", flat=True)) == ["by-hand"]


@pytest.mark.parametrize(
    "text, error",
    [
        ("skills = [{ name = ", "is not valid TOML"),
        ('skills = [{ tag = "v1" }]', "skills[0] must be a table with a name"),
        ('skills = [{ name = "Bad Name" }]', "is not a valid skill name"),
        ('skills = [{ name = "a" }, { name = "a" }]', "skill(s) listed twice: a"),
        ('skill = [{ name = "a" }]', "unknown key(s) skill"),
    ],
)
def test_a_bad_namespace_file_changes_nothing(client, components, tmp_path, text, error):
    store = store_of(tmp_path, components, "sink")
    namespace_file = tmp_path / "namespace.toml"
    namespace_file.write_text('skills = [{ name = "sink" }]\n')
    source = file_source(config_url=str(namespace_file), directory=str(store))
    assert sync_now(source).ok
    applied = source.applied

    namespace_file.write_text(text)
    report = sync_now(source)
    assert len(report.errors) == 1 and error in report.errors[0], report.errors
    assert source.applied == applied and source.consecutive_failures == 1
    assert run(client, "team/sink") == (200, SINK_ANSWER)


class _NamespaceFileServer(http.server.ThreadingHTTPServer):
    body = b""
    token = "s3cret"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server API
        if self.headers.get("Authorization") != f"Bearer {self.server.token}":
            self.send_response(401)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/toml")
        self.end_headers()
        self.wfile.write(self.server.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def namespace_file_server():
    server = _NamespaceFileServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def test_a_namespace_file_over_http_with_a_token(client, components, tmp_path, namespace_file_server):
    store = store_of(tmp_path, components, "sink")
    namespace_file_server.body = b'skills = [{ name = "sink" }]\n'
    url = f"http://127.0.0.1:{namespace_file_server.server_port}/team/namespace.toml"
    source = file_source(config_url=url, config_access_token="s3cret", directory=str(store))
    assert sync_now(source).ok
    assert run(client, "team/sink") == (200, SINK_ANSWER)

    NamespaceSource.objects.filter(pk=source.pk).update(config_access_token="expired")
    report = sync_now(source)
    assert report.errors == [
        f"namespace file {url} answered 401: the access token is missing, invalid or expired"
    ]
    assert run(client, "team/sink") == (200, SINK_ANSWER)

    namespace_file_server.shutdown()
    namespace_file_server.server_close()
    NamespaceSource.objects.filter(pk=source.pk).update(config_access_token="s3cret")
    report = sync_now(source)
    assert len(report.errors) == 1 and report.errors[0].startswith(f"cannot fetch namespace file {url}")
    assert source.consecutive_failures == 2


def test_a_namespace_file_in_a_git_repository(client, components, tmp_path):
    store = store_of(tmp_path, components, "sink", "hello")
    repo = tmp_path / "team-skills"
    commit = commit_file(repo, "deploy/namespace.toml", 'skills = [{ name = "sink" }]\n')
    source = file_source(
        git_repository=str(repo), git_branch="main", git_path="deploy/namespace.toml", directory=str(store)
    )

    report = sync_now(source)
    assert report.ok, report.errors
    assert source.applied["revision"] == f"git:{commit}"
    assert run(client, "team/sink") == (200, SINK_ANSWER)

    commit_file(repo, "deploy/namespace.toml", 'skills = [{ name = "hello" }]\n')
    report = sync_now(source)
    assert sorted(line.split(" (")[0] for line in report.changes) == ["added hello", "removed sink"]
    assert run(client, "team/hello") == (200, HELLO_ANSWER)

    NamespaceSource.objects.filter(pk=source.pk).update(git_branch="nope")
    report = sync_now(source)
    assert len(report.errors) == 1 and "git could not read" in report.errors[0]
    assert run(client, "team/hello") == (200, HELLO_ANSWER)


# -- one sync at a time, the config file, the command, the admin, the metrics --------------------


def test_a_source_being_synced_elsewhere_is_skipped(client, tmp_path):
    source = directory_source(tmp_path)
    assert sync._claim(source)
    assert sync.sync_source(source.pk).skipped == "another process is syncing it"
    NamespaceSource.objects.filter(pk=source.pk).update(syncing_until=None)
    assert sync.sync_source(source.pk).ok


def test_the_config_file_and_environment_declare_sources(settled_db, tmp_path, settings):
    config_file = tmp_path / "config.toml"
    config_file.write_text(
        '[namespaces.my-team]\nconfig-url = "https://example.com/namespace.toml"\n'
        'registry = "registry.example.com"\nbase-repository = "org/team"\n'
        '[namespaces.dev]\ndirectory = "skills"\nnative-tools = ["add"]\n'
    )
    settings.NAMESPACES_CONFIG = str(config_file)
    environ = {
        "NAMESPACES__MY_TEAM__REGISTRY_USER": "joe",
        "NAMESPACES__MY_TEAM__REGISTRY_PASSWORD": "pw",
        "NAMESPACES__LOCAL__DIRECTORY": "/srv/skills",
    }
    assert sorted(config.apply(environ)) == ["dev", "local", "my-team"]
    team = NamespaceSource.objects.get(namespace__name="my-team")
    assert (team.kind, team.registry, team.base_repository, team.registry_user, team.registry_password) == (
        "namespace-file",
        "registry.example.com",
        "org/team",
        "joe",
        "pw",
    )
    assert team.from_config
    assert NamespaceSource.objects.get(namespace__name="local").directory == "/srv/skills"
    assert Namespace.objects.get(name="dev").native_tool_names == ["add"]
    assert config.apply(environ) == []  # unchanged: nothing rewritten

    config_file.write_text('[namespaces.dev]\ndirectory = "skills"\n')
    assert sorted(config.apply({})) == ["local", "my-team"]
    assert not NamespaceSource.objects.get(namespace__name="my-team").enabled

    config_file.write_text("[namespaces.dev\n")
    with pytest.raises(config.SourceError, match="is not valid TOML"):
        config.apply({})
    config_file.write_text('[namespaces.x]\nconfig-url = "a"\ndirectory = "b"\n')
    with pytest.raises(config.SourceError, match="either a namespace file"):
        config.apply({})


def test_the_command_prints_what_changed_and_fails_when_a_source_fails(client, components, tmp_path, capsys):
    skills = tmp_path / "skills"
    skills.mkdir()
    shutil.copy(components["sink"], skills / "greet.wasm")
    directory_source(skills)
    call_command("sync_namespaces", "--once")
    assert "dev: added greet" in capsys.readouterr().out
    call_command("sync_namespaces", "--once")
    assert capsys.readouterr().out.strip() == "dev: no changes"

    shutil.rmtree(skills)
    with pytest.raises(CommandError, match="1 source\\(s\\) failed: dev"):
        call_command("sync_namespaces", "--once")
    assert "dev: ERROR the watched directory" in capsys.readouterr().out


def test_sync_now_in_the_admin_and_source_errors_in_the_metrics(client, components, tmp_path, settings):
    settings.ADMIN_REQUIRE_2FA = False  # the second factor is tested in tests/kernel/test_admin.py
    skills = tmp_path / "skills"
    skills.mkdir()
    shutil.copy(components["sink"], skills / "greet.wasm")
    source = directory_source(skills)
    admin = APIClient()
    admin.force_login(User.objects.get(username="root"))
    response = admin.post(
        "/admin/skills/namespacesource/", {"action": "sync_now", "_selected_action": [source.pk]}
    )
    assert response.status_code == 302  # to the page following the sync, which runs in a thread
    status_url = response["Location"].replace("/sync/?", "/sync/status/?")
    deadline = time.monotonic() + 60
    while not (status := admin.get(status_url).json())["done"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [line.split(" (")[0] for line in status["sources"][0]["lines"]] == ["dev: added greet"]
    assert run(client, "dev/greet") == (200, SINK_ANSWER)
    metrics = client.get("/metrics").content.decode()
    assert 'skill_kernel_namespace_source_up{namespace="dev"} 1.0' in metrics

    shutil.rmtree(skills)
    poller.sync_all()
    metrics = client.get("/metrics").content.decode()
    assert 'skill_kernel_namespace_source_up{namespace="dev"} 0.0' in metrics
    assert 'skill_kernel_namespace_source_consecutive_failures{namespace="dev"} 1.0' in metrics
    page = admin.get("/admin/skills/namespacesource/").content.decode()
    assert "failing (1×)" in page and "does not exist or is not a directory" in page


def test_a_file_still_being_written_is_read_on_a_later_poll(client, components, tmp_path, monkeypatch):
    monkeypatch.setattr(sync, "SETTLE_SECONDS", 60.0)
    skills = tmp_path / "skills"
    skills.mkdir()
    shutil.copy(components["sink"], skills / "greet.wasm")
    source = directory_source(skills)
    assert sync_now(source).changes == []  # just modified: maybe half copied
    assert run(client, "dev/greet")[0] == 404

    old = time.time() - 120
    os.utime(skills / "greet.wasm", (old, old))
    assert [line.split(" (")[0] for line in sync_now(source).changes] == ["added greet"]

    shutil.copy(components["hello"], skills / "greet.wasm")  # being replaced: the old one serves
    assert sync_now(source).changes == []
    assert run(client, "dev/greet") == (200, SINK_ANSWER)
