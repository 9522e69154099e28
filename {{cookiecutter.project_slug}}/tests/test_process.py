"""Managed child processes: readiness waited for while the child lives, progress said while it
takes long, one line when it dies or the time is up, and the whole session stopped."""

from __future__ import annotations

import sys

import pytest

from {{ cookiecutter.package_name }} import process
from {{ cookiecutter.package_name }}.errors import ServerUnavailable
from {{ cookiecutter.package_name }}.process import ChildProcess, free_port

SILENT = [sys.executable, "-c", "import time; time.sleep(60)"]  # lives, never answers


def test_a_slow_start_is_reported_while_it_lasts_then_ends_in_one_line(monkeypatch):
    monkeypatch.setattr(process, "PROGRESS_EVERY_S", 0.5)
    notes: list[str] = []
    child = ChildProcess(SILENT, {}, "the test server", timeout_hint="; give it longer")
    with pytest.raises(ServerUnavailable) as refused:
        child.start(f"http://127.0.0.1:{free_port()}/health", timeout=2, progress=notes.append)
    assert len(notes) >= 2 and "the test server is still starting" in notes[0]
    message = str(refused.value)
    assert "did not answer" in message and message.endswith("; give it longer")
    assert child.process is not None and child.process.poll() is not None, "stopped on failure"


def test_a_child_that_dies_is_reported_with_its_code():
    child = ChildProcess([sys.executable, "-c", "raise SystemExit(7)"], {}, "the test server")
    with pytest.raises(ServerUnavailable, match="the test server exited with code 7"):
        child.start(f"http://127.0.0.1:{free_port()}/health", timeout=60)
