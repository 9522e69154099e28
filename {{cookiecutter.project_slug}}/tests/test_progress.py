"""Slow commands say what they are doing: a status line on a terminal that is erased before the
command's own output, one plain line per step with `MLOPS_PROGRESS=lines` (the workflows), and
nothing in pipes, where stderr keeps its one line per failure."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from {{ cookiecutter.package_name }}.process import free_port
from {{ cookiecutter.package_name }}.progress import ERASE

from .project import PROJECT_ROOT

UNREACHABLE = f"http://127.0.0.1:{free_port()}"
MLOPS = [sys.executable, "-m", "{{ cookiecutter.package_name }}.cli", "--tracking-uri", UNREACHABLE, "status"]


def environment(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING_")}
    base.pop("MLOPS_PROGRESS", None)
    return {**base, **extra}


def test_plain_lines_in_ci_logs_then_the_error_last():
    result = subprocess.run(MLOPS, cwd=PROJECT_ROOT, capture_output=True, text=True,
                            env=environment(MLOPS_PROGRESS="lines"), timeout=300)  # fmt: skip
    lines = result.stderr.splitlines()
    assert result.returncode == 3
    assert lines[0] == "mlops: status: loading MLflow, checking each version's files..."
    assert lines[-1].startswith("mlops: cannot reach the tracking server") and len(lines) == 2


def test_nothing_but_the_error_in_a_pipe():
    result = subprocess.run(MLOPS, cwd=PROJECT_ROOT, capture_output=True, text=True,
                            env=environment(), timeout=300)  # fmt: skip
    assert result.returncode == 3
    assert len(result.stderr.splitlines()) == 1, result.stderr


def test_a_terminal_sees_a_status_line_that_is_erased_before_the_error():
    leader, follower = pty.openpty()
    process = subprocess.Popen(MLOPS, cwd=PROJECT_ROOT, stderr=follower,
                               stdout=subprocess.DEVNULL, env=environment())  # fmt: skip
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        shown += chunk
    assert process.wait(timeout=300) == 3
    os.close(leader)
    text = shown.decode()
    assert "status: loading MLflow, checking each version's files (0 s)" in text
    last_erase = text.rindex(ERASE)
    assert text[last_erase + len(ERASE) :].startswith("mlops: cannot reach the tracking server")
