"""`scripts/setup-runner.sh`: the steps it prints carry this repository's runner label and URL."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from ..project import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "setup-runner.sh"
LABEL = "{{ cookiecutter.runner_label }}"
REPO = "{{ cookiecutter.github_owner }}/{{ cookiecutter.project_slug }}"
BASH = shutil.which("bash")

pytestmark = [pytest.mark.skipif(BASH is None, reason="needs bash")]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BASH, str(SCRIPT), *args], capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("system", ["linux", "macos", "windows"])
def test_the_steps_name_the_label_and_the_repository(system):
    result = run("--os", system)
    assert result.returncode == 0, result.stderr
    assert f"--labels {LABEL} " in result.stdout
    assert f"--url https://github.com/{REPO} " in result.stdout
    assert "UV_CACHE_DIR=" in result.stdout and "Security rules" in result.stdout
    assert "<TOKEN>" in result.stdout, "the token is never guessed or embedded"


def test_the_runner_user_and_folder_can_be_chosen():
    result = run("--os", "linux", "--user", "ghrunner", "--dir", "/srv/runner")
    assert result.returncode == 0
    assert "sudo useradd --create-home --shell /bin/bash ghrunner" in result.stdout
    assert "mkdir -p /srv/runner" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--os", "solaris"], "--os must be"),
        (["--bogus"], "unknown option"),
        (["--user", ""], "--user needs a name"),
        (["--dir"], "--dir needs a value"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
