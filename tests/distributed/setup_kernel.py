"""Run in a subprocess against the distributed test cluster's PostgreSQL: migrate, register the
test skills, create the callers; prints {"username": token} as JSON on the last line.

Usage: ``python -m tests.distributed.setup_kernel kitchen_sink.wasm stream_skill.wasm``
"""

from __future__ import annotations

import json
import sys

import django


def main() -> None:
    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from skills.models import Namespace, NamespaceGrant
    from skills.services import registry

    call_command("migrate", verbosity=0)
    namespace = Namespace.objects.create(name="test", native_tools="add,subtract,saboteur")
    for name, path in zip(("sink", "stream"), sys.argv[1:3], strict=True):
        with open(path, "rb") as handle:
            result = registry.register_version("test", name, handle.read())
        assert result.version.status == "ready", result.version.failure_reason
    tokens = {}
    for username, role in (("admin", None), ("alice", NamespaceGrant.INVOKE), ("bob", NamespaceGrant.INVOKE)):
        user = User.objects.create_user(
            username, password="pw", is_superuser=role is None, is_staff=role is None
        )
        if role:
            group = Group.objects.create(name=f"{username}-group")
            user.groups.add(group)
            NamespaceGrant.objects.create(namespace=namespace, group=group, role=role)
        tokens[username] = Token.objects.create(user=user).key
    print(json.dumps(tokens))


if __name__ == "__main__":
    main()
