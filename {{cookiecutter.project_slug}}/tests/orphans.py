"""Nothing a test starts outlives the test run, even when the runner is killed (kill -9, a
cancelled CI job, an OOM kill): a server left behind holds its port and its files for good.

Children of the runner's own user get Linux's parent-death signal, as `mlops` gives its servers
(`server_launcher`). A process that runs as another user (PostgreSQL, which refuses root) loses
that signal when it changes user, so a small watchdog of its own stops it once the runner is gone.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1
WATCHDOG = """
import os, subprocess, sys, time
runner, command = int(sys.argv[1]), sys.argv[2:]
while os.path.exists(f"/proc/{runner}"):
    time.sleep(1)
subprocess.run(command, timeout=120)
"""


def dies_with_the_runner() -> None:
    """A `preexec_fn`: SIGTERM to the child when the process that started it dies (Linux)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def after_the_runner(command: list[str]) -> subprocess.Popen:
    """Run `command` once this process is gone, however it ends; kill the returned watchdog
    after cleaning up normally."""
    return subprocess.Popen(
        [sys.executable, "-c", WATCHDOG, str(os.getpid()), *command],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
