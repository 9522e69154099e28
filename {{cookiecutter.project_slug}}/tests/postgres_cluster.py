"""A throw-away PostgreSQL cluster (initdb + pg_ctl from the Debian package) on a free port.

Shared by the tests of the scale-out path: each test asks it for a database of its own.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from {{ cookiecutter.package_name }}.process import free_port

from .orphans import after_the_runner


def _postgres_binary(name: str) -> str | None:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


INITDB, PG_CTL = _postgres_binary("initdb"), _postgres_binary("pg_ctl")
AVAILABLE = bool(INITDB and PG_CTL)


class Cluster:
    def __init__(self, port: int) -> None:
        self.port = port

    def database(self, prefix: str = "mlflow") -> str:
        """A new empty database; its URI (no password: the cluster trusts local clients)."""
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        admin = f"dbname=postgres user=postgres host=127.0.0.1 port={self.port}"
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"


def _as_postgres(root: Path) -> list[str]:
    """PostgreSQL refuses to run as root: hand the folder to the `postgres` user."""
    if os.geteuid() != 0:
        return []
    shutil.chown(root, "postgres", "postgres")
    return ["runuser", "-u", "postgres", "--"]


@contextmanager
def running_cluster() -> Iterator[Cluster]:
    root = Path(tempfile.mkdtemp(prefix="mlops-pg-"))
    root.chmod(0o755)
    prefix, port = _as_postgres(root), free_port()
    data, log = root / "data", root / "server.log"

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, text=True, timeout=120)

    run(INITDB, "-D", str(data), "-A", "trust", "-U", "postgres")
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
    run(PG_CTL, "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
    watchdog = after_the_runner([*prefix, PG_CTL, "-D", str(data), "-m", "immediate", "stop"])
    try:
        yield Cluster(port)
    finally:
        run(PG_CTL, "-D", str(data), "-m", "fast", "-w", "stop")  # if it fails, the watchdog
        watchdog.kill()  # stops the cluster once the runner is gone
        shutil.rmtree(root, ignore_errors=True)
