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
