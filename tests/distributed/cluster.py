"""A real distributed kernel on loopback: PostgreSQL, Redis, gunicorn and Celery worker processes.

Used by the ``distributed`` tests and by ``benchmarks/concurrency.py``. PostgreSQL refuses to run
as root, so when we are root its data directory belongs to the ``postgres`` user and its
commands run through ``runuser``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
VENV_BIN = Path(sys.executable).parent
# Its processes (and the benchmarks') speak plain HTTP on loopback: the laptop mode, not production.
os.environ.setdefault("SKILL_KERNEL_ENV", "development")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(check, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up within {timeout} s")


def start_gunicorn(
    port: int, env: dict[str, str], processes: int = 1, threads: int = 32, log: Path | None = None
) -> subprocess.Popen:
    """The kernel under gunicorn (gthread) on loopback ``port``, answering ``/health`` on return."""
    web = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "kernel_site.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            "gthread",
            "--workers",
            str(processes),
            "--threads",
            str(threads),
            "--timeout",
            "0",
            "--backlog",
            "2048",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "wb") if log else subprocess.DEVNULL,
    )
    _wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200, "gunicorn")
    return web


class Postgres:
    def __init__(self, root: Path, max_connections: int = 600) -> None:
        self.port = free_port()
        self.data = root / "pg"
        self.data.mkdir()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(root, "postgres")
            shutil.chown(self.data, "postgres")
        self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "kernel", "--no-sync", "-E", "UTF8")
        self.options = (
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off "
            f"-c synchronous_commit=off -c full_page_writes=off -c max_connections={max_connections}"
        )
        self.start()
        self.url = f"postgres://kernel@127.0.0.1:{self.port}/postgres"

    def _pg(self, tool: str, *args: str) -> None:
        command = [str(PG_BIN / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> None:
        self._pg(
            "pg_ctl", "-D", str(self.data), "-o", self.options, "-l", str(self.data / "log"), "-w", "start"
        )

    def restart(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-o", self.options, "-m", "fast", "-w", "restart")

    def stop(self, mode: str = "fast") -> None:
        """``fast`` is a clean restart's shutdown; ``immediate`` is a crash (and, with the fsync
        settings above, may lose the last commits: only for tearing down)."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as connection:
            cursor = connection.execute(sql, params)
            return cursor.fetchall() if cursor.description else []


class Redis:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        _wait_for(lambda: socket.create_connection(("127.0.0.1", self.port), 0.2).close() or True, "redis")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class Cluster:
    """PostgreSQL + Redis + one gunicorn + Celery workers, with the test skills registered."""

    def __init__(
        self,
        skills: dict[str, Path],
        env: dict[str, str] | None = None,
        web_threads: int = 32,
        web_processes: int = 1,
    ) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="skill-kernel-cluster-"))
        self.postgres = Postgres(self.root)
        self.redis = Redis()
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "kernel_site.settings",
            "DATABASE_URL": self.postgres.url,
            "CELERY_BROKER_URL": self.redis.url,
            "SKILL_KERNEL_DATA": str(self.root / "data"),
            "LOG_LEVEL": "WARNING",
            **(env or {}),
        }
        setup = subprocess.run(
            [
                sys.executable,
                str(Path(__file__).parent / "setup_kernel.py"),
                str(skills["kitchen_sink"]),
                str(skills["stream_skill"]),
            ],
            env=self.env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        self.tokens: dict[str, str] = json.loads(setup.stdout.strip().splitlines()[-1])
        self.web_port = free_port()
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.web = self.start_web(self.web_port, web_processes, web_threads)
        self.workers: list[subprocess.Popen] = []

    def start_web(self, port: int, processes: int = 1, threads: int = 32) -> subprocess.Popen:
        """gunicorn on ``port``, answering ``/health`` when this returns."""
        return start_gunicorn(port, self.env, processes, threads, log=self.root / f"web-{port}.log")

    def start_worker(self, threads: int = 16, env: dict[str, str] | None = None) -> subprocess.Popen:
        name = f"w{len(self.workers)}@%h"
        worker = subprocess.Popen(
            [
                str(VENV_BIN / "celery"),
                "-A",
                "kernel_site",
                "worker",
                "--pool",
                "threads",
                "-c",
                str(threads),
                "-n",
                name,
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "WARNING",
            ],
            env={**self.env, **(env or {})},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / f"worker{len(self.workers)}.log", "wb"),
        )
        self.workers.append(worker)
        self._wait_consuming()
        return worker

    def _wait_consuming(self) -> None:
        """Ready when a worker answers ``ping`` over the broker."""
        from kernel_site.celery import app

        app.conf.broker_url = self.redis.url

        def ping() -> bool:
            return bool(app.control.ping(timeout=0.5))

        _wait_for(ping, "the celery worker", timeout=60)

    def kill_worker(self, worker: subprocess.Popen) -> None:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)

    def stop_worker(self, worker: subprocess.Popen) -> None:
        if worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(10)

    def client(self, user: str = "alice", timeout: float = 60) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.tokens[user]}"}, timeout=timeout
        )

    def close(self) -> None:
        for worker in self.workers:
            self.stop_worker(worker)
        self.web.terminate()
        self.web.wait(10)
        self.redis.stop()
        self.postgres.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
