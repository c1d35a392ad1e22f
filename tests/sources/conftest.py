"""A real OCI registry (distribution 2.8, TLS + htpasswd) on loopback, shared by the session."""

from __future__ import annotations

import pytest

from tests.support.oci_registry import TestRegistry, missing_tools


@pytest.fixture(scope="session")
def oci_registry():
    missing = missing_tools()
    if missing:
        pytest.skip(
            f"no OCI test registry: {', '.join(missing)} not on PATH "
            "(Debian packages docker-registry and apache2-utils; .ci/install-system-packages installs them)"
        )
    registry = TestRegistry().start()
    try:
        yield registry
    finally:
        registry.stop()


@pytest.fixture
def client(settled_db):
    """An API client of a superuser."""
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    user = User.objects.create_user("root", password="pw", is_superuser=True, is_staff=True)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {Token.objects.create(user=user).key}")
    return api


@pytest.fixture
def settled_db(transactional_db):
    """The database, and at teardown (while it still exists) the work deployments leave behind
    finished: Cranelift artifacts to build, spans to store."""
    yield
    from skills import telemetry
    from skills.services import registry

    registry._optimiser().submit(lambda: None).result(timeout=300)
    telemetry.flush()


@pytest.fixture(autouse=True)
def _files_settle_at_once(monkeypatch):
    """Tests write a file and sync at once; the settling delay has a test of its own."""
    monkeypatch.setattr("skills.sources.sync.SETTLE_SECONDS", 0.0)
