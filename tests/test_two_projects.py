"""Two baked projects in one environment (a Colab runtime, a shared laptop venv): each keeps its
own guard app and request-header provider, `python -m <package>` runs each one, and the `mlops`
script they share (the last install wins) refuses the other project's settings in one line
instead of running the wrong package on them."""

from __future__ import annotations

import subprocess

import pytest

from .bakery import bake, project_environment, tool

pytestmark = pytest.mark.slow
ENTRY_POINTS = (
    "import importlib.metadata as m; print(' '.join(sorted(e.name for g in "
    "('mlflow.app', 'mlflow.request_header_provider') for e in m.entry_points(group=g))))"
)


def test_two_bakes_share_one_environment(tmp_path):
    alpha = bake(tmp_path / "a", project_name="Alpha Model")
    beta = bake(tmp_path / "b", project_name="Beta Model")
    venv, pinned = tmp_path / "venv", tmp_path / "pinned.txt"
    env = {**project_environment(), "VIRTUAL_ENV": str(venv)}

    def run(*args: str, cwd=tmp_path, check=True) -> subprocess.CompletedProcess:
        result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                                timeout=900)  # fmt: skip
        assert not check or result.returncode == 0, result.stdout + result.stderr
        return result

    run(tool("uv"), "export", "--frozen", "--no-dev", "--no-emit-project", "--quiet",
        "--extra", "server", "-o", str(pinned), cwd=alpha.path)  # fmt: skip
    run(tool("uv"), "venv", "--quiet", str(venv))
    run(tool("uv"), "pip", "install", "--quiet", "-r", str(pinned))
    run(tool("uv"), "pip", "install", "--quiet", "--no-deps", "-e", str(alpha.path),
        "-e", str(beta.path))  # fmt: skip

    python = str(venv / "bin" / "python")
    names = run(python, "-c", ENTRY_POINTS).stdout.split()
    for package in ("alpha_model", "beta_model"):
        assert f"{package}-guard" in names and f"{package}-cloudflare-access" in names
        assert run(python, "-m", package, "--version").stdout.startswith("mlops 0.1.0")

    script = (venv / "bin" / "mlops").read_text(encoding="utf-8")
    owner, other = (alpha, beta) if "alpha_model" in script else (beta, alpha)
    refused = run(str(venv / "bin" / "mlops"), "status", cwd=other.path, check=False)
    assert refused.returncode == 2
    [line] = refused.stderr.strip().splitlines()
    assert f"belongs to {other.package}, but this `mlops` is {owner.package}'s" in line
