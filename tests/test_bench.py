"""The benchmarks cannot rot: `bench/run.py --quick` runs every one of them, at tiny sizes,
against a default bake. Their figures are read by people (docs/benchmarks.md), never asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .bakery import project_environment

TEMPLATE = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_every_benchmark_runs_in_quick_mode(bakery):
    project = bakery("default")
    project.sync()
    run = [sys.executable, str(TEMPLATE / "bench" / "run.py"), "--quick"]
    result = subprocess.run(
        [*run, "--project", str(project.path)], cwd=TEMPLATE, capture_output=True, text=True,
        timeout=1500, env=project_environment(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]
    names = ("decisions", "drift_detection", "footprint", "growth", "load", "login_guard",
             "migrate_history", "pr_minutes", "promote_profile", "request_economy", "selection",
             "verb_times")  # fmt: skip
    for name in names:
        assert f"## {name}" in result.stdout, f"{name} did not run"
    assert "| 200 |" in result.stdout, "selection printed no row"
    assert "| 1,000 | no drift | 2,000 |" in result.stdout, "drift_detection printed no row"
    assert "- `uv run --frozen pre-commit run" in result.stdout, "pr_minutes found no job steps"
    assert "| `mlops --version` |" in result.stdout, "verb_times printed no row"
