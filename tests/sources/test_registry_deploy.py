"""Deploying the way Pharia teams do: the official ``pharia-skill publish`` pushes SDK-built skills
to a real OCI registry (TLS + htpasswd on loopback), a namespace file in Git says which tag serves,
and the kernel follows both: forward, back, re-published tags, and every failure keeping the last
good state."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from skills.models import Namespace, NamespaceGrant, NamespaceSource, SkillVersion
from skills.sources import oci, sync
from tests.support.deploy import HELLO_ANSWER, SINK_ANSWER, commit_file, run


@pytest.fixture
def published(oci_registry, skill_wasm, example_wasm, tmp_path_factory):
    """Two versions of ``team-a/greet`` in the registry: v1 (kitchen sink) and v2 (hello)."""
    oci_registry.publish(skill_wasm["kitchen_sink"], repository="team-a", name="greet", tag="v1")
    oci_registry.publish(example_wasm["hello"], repository="team-a", name="greet", tag="v2")
    return oci_registry


@pytest.fixture
def trust_registry(settings, oci_registry):
    settings.REGISTRY_CA_BUNDLE = str(oci_registry.ca_path)


def commit_namespace_file(repo: Path, text: str) -> None:
    commit_file(repo, "namespace.toml", text)


def registry_source(registry, repo: Path, **fields) -> NamespaceSource:
    values = {
        "git_repository": str(repo),
        "registry": registry.host,
        "base_repository": "team-a",
        "registry_user": registry.user,
        "registry_password": registry.password,
        **fields,
    }
    return NamespaceSource.objects.create(namespace=Namespace.objects.create(name="team-a"), **values)


def sync_now(source: NamespaceSource) -> sync.SyncReport:
    report = sync.sync_source(source.pk)
    source.refresh_from_db()
    return report


def test_roll_forward_and_back_with_publish_and_a_namespace_file_in_git(
    client, published, trust_registry, tmp_path
):
    repo = tmp_path / "team-a-config"
    commit_namespace_file(repo, 'skills = [{ name = "greet", tag = "v1" }]\n')
    source = registry_source(published, repo)

    report = sync_now(source)
    assert report.ok, report.errors
    assert report.changes == [
        f"added greet ({published.host}/team-a/greet:v1, sha256:{SkillVersion.objects.get().digest[:12]})"
    ]
    assert run(client, "team-a/greet") == (200, SINK_ANSWER)
    version = SkillVersion.objects.get()
    assert (version.origin, version.origin_reference) == ("registry", f"{published.host}/team-a/greet:v1")
    assert version.origin_digest.startswith("sha256:")
    assert sync_now(source).changes == []  # the manifest did not move: nothing pulled

    commit_namespace_file(repo, 'skills = [{ name = "greet", tag = "v2" }]\n')  # forward
    assert [line.split(" (")[0] for line in sync_now(source).changes] == ["updated greet"]
    assert run(client, "team-a/greet") == (200, HELLO_ANSWER)

    commit_namespace_file(repo, 'skills = [{ name = "greet", tag = "v1" }]\n')  # and back
    assert [line.split(" (")[0] for line in sync_now(source).changes] == ["updated greet"]
    assert run(client, "team-a/greet") == (200, SINK_ANSWER)
    assert SkillVersion.objects.count() == 2  # rolling back reuses the version it had


def test_a_re_published_tag_moves_and_the_same_bytes_again_change_nothing(
    client, oci_registry, skill_wasm, example_wasm, trust_registry, tmp_path
):
    oci_registry.publish(skill_wasm["kitchen_sink"], repository="team-a", name="moving", tag="latest")
    repo = tmp_path / "config"
    commit_namespace_file(repo, 'skills = [{ name = "moving" }]\n')
    source = registry_source(oci_registry, repo)
    assert sync_now(source).ok
    assert run(client, "team-a/moving") == (200, SINK_ANSWER)

    oci_registry.publish(example_wasm["hello"], repository="team-a", name="moving", tag="latest")
    assert [line.split(" (")[0] for line in sync_now(source).changes] == ["updated moving"]
    assert run(client, "team-a/moving") == (200, HELLO_ANSWER)

    oci_registry.publish(example_wasm["hello"], repository="team-a", name="moving", tag="latest")
    assert sync_now(source).changes == []  # a new manifest, the same layer: the same version
    assert SkillVersion.objects.filter(skill__name="moving").count() == 2
    client_of_registry = oci.RegistryClient(
        oci_registry.host,
        user=oci_registry.user,
        password=oci_registry.password,
        ca_bundle=str(oci_registry.ca_path),
    )
    assert source.applied["skills"]["moving"]["manifest"] == client_of_registry.head(
        "team-a/moving", "latest"
    )


def test_registry_failures_keep_the_last_good_state(client, published, trust_registry, tmp_path):
    repo = tmp_path / "config"
    commit_namespace_file(repo, 'skills = [{ name = "greet", tag = "v1" }]\n')
    source = registry_source(published, repo)
    assert sync_now(source).ok
    applied = source.applied

    commit_namespace_file(repo, 'skills = [{ name = "greet", tag = "v2" }]\n')
    NamespaceSource.objects.filter(pk=source.pk).update(registry_password="wrong")
    report = sync_now(source)
    assert len(report.errors) == 1 and "refused the credentials" in report.errors[0], report.errors
    assert source.applied == applied and source.consecutive_failures == 1
    assert run(client, "team-a/greet") == (200, SINK_ANSWER)

    NamespaceSource.objects.filter(pk=source.pk).update(registry="127.0.0.1:9", registry_password="x")
    report = sync_now(source)
    assert len(report.errors) == 1 and "registry 127.0.0.1:9" in report.errors[0]
    assert source.applied == applied and source.consecutive_failures == 2
    assert run(client, "team-a/greet") == (200, SINK_ANSWER)

    NamespaceSource.objects.filter(pk=source.pk).update(
        registry=published.host, registry_password=published.password
    )
    commit_namespace_file(repo, 'skills = [{ name = "greet", tag = "v9" }, { name = "other", tag = "v1" }]\n')
    report = sync_now(source)
    assert report.errors == [
        f"greet: {published.host}/team-a/greet:v9 does not exist in the registry",
        f"other: {published.host}/team-a/other:v1 does not exist in the registry",
    ]
    assert run(client, "team-a/greet") == (200, SINK_ANSWER)  # a missing tag keeps what served

    commit_namespace_file(repo, 'skills = [{ name = "greet", tag = "v2" }]\n')
    report = sync_now(source)
    assert report.ok and source.consecutive_failures == 0 and not source.last_error
    assert run(client, "team-a/greet") == (200, HELLO_ANSWER)


def test_the_sync_route_lets_a_ci_job_deploy_without_waiting_for_the_poll(
    client, published, trust_registry, tmp_path
):
    repo = tmp_path / "config"
    commit_namespace_file(repo, 'skills = [{ name = "greet", tag = "v1" }]\n')
    source = registry_source(published, repo)
    deployer = User.objects.create_user("ci")
    group = Group.objects.create(name="ci")
    deployer.groups.add(group)
    NamespaceGrant.objects.create(namespace=source.namespace, group=group, role=NamespaceGrant.DEPLOY)
    ci = APIClient()
    ci.credentials(HTTP_AUTHORIZATION=f"Bearer {Token.objects.create(user=deployer).key}")

    response = ci.post("/v1/namespaces/team-a/sync")
    assert response.status_code == 200, response.content
    assert [line.split(" (")[0] for line in response.json()["changes"]] == ["added greet"]
    assert response.json()["errors"] == []
    assert run(client, "team-a/greet") == (200, SINK_ANSWER)

    NamespaceSource.objects.filter(pk=source.pk).update(registry_password="wrong")
    response = ci.post("/v1/namespaces/team-a/sync")
    assert response.status_code == 502 and "refused the credentials" in response.json()["errors"][0]

    NamespaceGrant.objects.filter(group=group).update(role=NamespaceGrant.INVOKE)
    response = ci.post("/v1/namespaces/team-a/sync")
    assert response.status_code == 403 and response.json()["error"]["kind"] == "forbidden"
    assert APIClient().post("/v1/namespaces/team-a/sync").status_code == 401
    assert client.post("/v1/namespaces/nowhere/sync").status_code == 404


def test_a_file_registry_path_as_in_phariaengine(client, skill_wasm, tmp_path):
    """``path = "skills"`` with a namespace file: skills are ``skills/{name}.wasm`` (no registry)."""
    store = tmp_path / "skills"
    store.mkdir()
    shutil.copy(skill_wasm["kitchen_sink"], store / "greet.wasm")
    (tmp_path / "namespace.toml").write_text('skills = [{ name = "greet" }]\n')
    source = NamespaceSource.objects.create(
        namespace=Namespace.objects.create(name="local"),
        config_url=f"file://{tmp_path / 'namespace.toml'}",
        directory=str(store),
    )
    assert sync_now(source).ok
    assert run(client, "local/greet") == (200, SINK_ANSWER)
