"""A test run killed mid-suite (kill -9, as a cancelled CI job or an OOM kill ends it) leaves no
server behind: not moto's S3, not the PostgreSQL cluster, not a tracking server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..central_pc_fixtures import project_env
from ..postgres_cluster import AVAILABLE as POSTGRES_AVAILABLE
from ..project import PROJECT_ROOT

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc"),
]
HOLDING_SERVERS = [  # the session's PostgreSQL cluster is up while the S3 test runs
    "tests/central_pc/test_postgres.py::test_runs_land_in_postgresql_not_in_sqlite",
    "tests/central_pc/test_s3.py::test_runs_and_registered_models_live_in_the_bucket",
]


def command_lines() -> dict[int, tuple[int, str]]:
    """Every process: its parent and its command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        found[int(entry.name)] = (parent, line)
    return found


def servers_of(runner: int) -> tuple[list[int], list[str]]:
    """The runner's moto servers, and the data folders of its PostgreSQL clusters (from their
    watchdogs, which name the runner)."""
    processes = command_lines()
    moto = [pid for pid, (parent, line) in processes.items()
            if parent == runner and "moto.server" in line]  # fmt: skip
    clusters = [line.split(" -D ", 1)[1].split()[0] for _, line in processes.values()
                if f" {runner} " in line and "pg_ctl" in line and " -D " in line]  # fmt: skip
    return moto, clusters


def test_a_killed_test_run_leaves_no_server_behind(tmp_path):
    runner = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider",
         "-o", "addopts=", "-q", *HOLDING_SERVERS],
        cwd=PROJECT_ROOT, env=project_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline, moto, clusters = time.monotonic() + 300, [], []
        while not moto or (POSTGRES_AVAILABLE and not clusters):
            assert runner.poll() is None and time.monotonic() < deadline, "the servers never ran"
            time.sleep(0.5)
            moto, clusters = servers_of(runner.pid)
    finally:
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        left = [
            line
            for _, line in command_lines().values()
            if any(folder in line for folder in clusters) and "pg_ctl" not in line
        ]
        alive = [pid for pid in moto if Path(f"/proc/{pid}").exists()]
        if not left and not alive:
            return
        time.sleep(0.5)
    raise AssertionError(f"survivors: moto {alive}, postgres {left}")
