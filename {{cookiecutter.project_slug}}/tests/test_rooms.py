"""The rooms' layers are a checked rule: `lint-imports` (a pre-commit hook, so also the pull
request check) reads `[tool.importlinter]` and fails on an import that goes up or round."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .project import PROJECT_ROOT

PACKAGE = "{{ cookiecutter.package_name }}"
LINT_IMPORTS = str(Path(sys.executable).parent / "lint-imports")
ROOMS = ("ml", "tracking", "experiments", "registry", "central_pc")


def lint_imports(project: Path) -> subprocess.CompletedProcess:
    """The contract over a copy of the package (the copy comes first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=project, env=env, capture_output=True, text=True
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copytree(
        PROJECT_ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(PROJECT_ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def plant(project: Path, module: str, line: str) -> None:
    path = project / "src" / PACKAGE / f"{module.replace('.', '/')}.py"
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}  # planted\n", encoding="utf-8")


def test_the_package_keeps_every_contract(copy):
    result = lint_imports(copy)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    "module, line, broken",
    [
        ("ml.features", "from ..registry import status", "is not allowed to import"),
        ("tracking.tag_keys", "from ..experiments import runs", "is not allowed to import"),
        ("experiments.train", "from ..registry import promotion", "is not allowed to import"),
        ("settings", "from .ml import metrics", "is not allowed to import"),
        ("ml.model", "import mlflow", "never talks to MLflow"),
        ("central_pc.backup", "from ..experiments import pending", "needs no experiment code"),
        ("ml.data_checks", "from . import data", "no cycles among the modules of a room"),
    ],
    ids=[
        "ml up to registry",
        "tracking up",
        "experiments to registry",
        "settings to ml",
        "mlflow in ml",
        "central_pc to experiments",
        "a cycle in ml",
    ],
)
def test_a_planted_import_breaks_the_contract(copy, module, line, broken):
    plant(copy, module, line)
    result = lint_imports(copy)
    assert result.returncode != 0
    report = result.stdout[result.stdout.index("Broken contracts") :]
    assert broken in report and "BROKEN" in result.stdout


def test_every_room_is_a_package_with_a_docstring():
    for room in ROOMS:
        init = PROJECT_ROOT / "src" / PACKAGE / room / "__init__.py"
        assert init.read_text(encoding="utf-8").startswith('"""'), room
