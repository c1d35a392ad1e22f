"""Gunicorn settings of ``make serve``: once the first worker is ready, print the quickstart block
again (URL, login, ``export TOKEN=...``, a curl), so it is the last thing on the screen before the
access log rather than scrolled away above the server's start-up lines."""

import os


def post_worker_init(worker) -> None:
    if worker.age != 1:  # the first worker only, not every restart or every worker
        return
    from skills.management.commands.quickstart import summary

    host, _, port = str(worker.cfg.bind[0]).rpartition(":")
    block = summary(os.environ.get("SKILL_KERNEL_ADMIN", "admin"), f"http://{host}:{port}")
    if block:
        print(block, flush=True)
