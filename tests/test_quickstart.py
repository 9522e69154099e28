"""The README's main job: a fresh bake runs its whole lifecycle with `uv run mlops demo`.

The default bake runs the README's first command exactly as written, on a machine reduced to
what the quick start assumes: Python 3.11+ and uv on PATH (uv installed from PyPI, the same
binary its installer gives), the system's /usr/bin and /bin, an empty home, no virtualenv and
nothing from the template's environment. Only uv's download cache is shared, to spare PyPI, and
the machine's network settings (proxies, CA certificates) pass through.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from .bakery import TEMPLATE, Bake, tool

pytestmark = pytest.mark.slow
QUICK_START = TEMPLATE.joinpath("README.md").read_text(encoding="utf-8").split("## Quick start")[1]
MAIN_JOB = re.search(r"# 1\. .+?\n(.+?)\n", QUICK_START).group(1)
NETWORK = re.compile(r"PROXY|CERT|SSL|CA_BUNDLE|^UV_INDEX|^UV_NATIVE_TLS|^UV_SYSTEM_CERTS", re.I)
NOT_SHIPPED = (".git", ".venv", ".bakes", "__pycache__", ".pytest_cache", ".ruff_cache")


def bare_machine(home: Path) -> dict[str, str]:
    """PATH with only python3 and uv before the system's own directories; an empty home."""
    tools = home / "bin"
    tools.mkdir(parents=True)
    for name in ("uv", "uvx"):  # both come with uv, from its installer or from PyPI
        found = Path(sys.base_prefix, "bin", name)
        (tools / name).symlink_to(found if found.exists() else shutil.which(name))
    (tools / "python3").symlink_to(Path(sys.base_prefix, "bin", "python3"))
    cache = subprocess.run([tool("uv"), "cache", "dir"], capture_output=True, text=True, check=True)
    network = {name: value for name, value in os.environ.items() if NETWORK.search(name)}
    return {
        **network, "HOME": str(home), "PATH": f"{tools}:/usr/bin:/bin", "LANG": "C.UTF-8",
        "UV_CACHE_DIR": cache.stdout.strip(), "UV_PYTHON_DOWNLOADS": "never",
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
    }  # fmt: skip


def readme_main_job(tmp_path: Path) -> subprocess.CompletedProcess:
    clone = tmp_path / "clone"
    shutil.copytree(TEMPLATE, clone, ignore=shutil.ignore_patterns(*NOT_SHIPPED))
    return subprocess.run(
        ["bash", "-c", MAIN_JOB], cwd=clone, env=bare_machine(tmp_path / "home"),
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip


def test_the_quick_start_command_is_the_one_this_test_runs():
    assert MAIN_JOB.startswith("command -v uv >/dev/null || { curl -LsSf https://astral.sh/uv/")
    assert MAIN_JOB.endswith("cd .bakes/team-model && uv run mlops demo")


@pytest.mark.parametrize("option_set", ["default", "regression"])
def test_the_demo_shows_the_whole_lifecycle(bakery, option_set, tmp_path):
    if option_set == "default":
        result = readme_main_job(tmp_path)
        project = Bake(tmp_path / "clone" / ".bakes" / "team-model", {})
    else:
        project = bakery(option_set)
        project.sync()
        result = project.run(tool("uv"), "run", "--frozen", "mlops", "demo", check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "registered version 1" in out and "version 1 is now champion" in out
    assert "registered version 2" in out and "champion stays: gate min_improvement failed" in out
    assert re.search(r"^\s*champion\s+1\s", out, re.M)
    assert "week.csv: exit 0, no drift or decay beyond [monitor]" in out
    assert re.search(r"moved.csv: exit 1, drift in ", out), "the moved column is named"
    assert "UI:" not in out, "no link to a server the demo has stopped"
    assert "mlops demo --keep-server" in out
    port = re.search(r"tracking server at http://127\.0\.0\.1:(\d+)", out)
    assert port, out
    password_file = project.path / ".mlops" / "demo" / "server" / "admin_password"
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert password_file.read_text(encoding="utf-8").strip() not in out
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", int(port.group(1)))) != 0, "the server was left up"
    if option_set == "default":
        assert_no_tools_installed(project.path / ".venv")


def assert_no_tools_installed(venv: Path) -> None:
    """A teammate's environment holds the runtime: not the test, lint and docs tools of the
    dependency groups, nor the central PC's extra (measured: 92 packages, against 198)."""
    site = next((venv / "lib").glob("*/site-packages"))
    installed = {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}
    assert installed & {"pytest", "ruff", "mypy", "mkdocs_material", "moto", "pre_commit"} == set()
    assert installed & {"psycopg", "boto3", "pyngrok"} == set()
    assert {"mlflow", "scikit_learn", "flask_wtf"} <= installed and len(installed) < 100
