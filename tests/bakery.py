"""Real cookiecutter bakes, once per option set, shared by every test of a session."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
TEMPLATE_PROJECT = TEMPLATE / "{{cookiecutter.project_slug}}"
DEFAULTS = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A dev tool of the template's own environment (ruff, zizmor, uv, act...)."""
    local = BIN / name
    return str(local) if local.exists() else (shutil.which(name) or name)


def project_environment() -> dict[str, str]:
    """The environment without the template's own virtualenv, so uv uses the project's."""
    return {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}


@dataclass(frozen=True)
class Bake:
    path: Path
    answers: dict

    @property
    def package(self) -> str:
        return self.answers["package_name"]

    def files(self) -> set[str]:
        skip = {".venv", ".pytest_cache", ".ruff_cache", "__pycache__", ".mlops"}
        return {
            p.relative_to(self.path).as_posix()
            for p in self.path.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(self.path).parts)
        }

    def read(self, relative: str) -> str:
        return (self.path / relative).read_text(encoding="utf-8")

    def run(self, *args: str, timeout: int = 600, env: dict | None = None, check: bool = True):
        """Run a command inside the baked project (e.g. uv run ...). A `uv run` in a fresh bake
        syncs it first, quietly: its stderr is then the command's own, not uv's install lines."""
        if args[1:2] == ("run",) and Path(args[0]).name == "uv":
            self.sync()
        result = subprocess.run(
            list(args), cwd=self.path, capture_output=True, text=True, timeout=timeout,
            env={**project_environment(), **(env or {})},
        )  # fmt: skip
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
            )
        return result

    def sync(self) -> None:
        """The project's own uv environment with its `test` group (as its CI syncs it), from its
        lock file (uv's cache is shared), compiled once as the generated CI, the runner and the
        central PC do. CI machines keep no `.pyc` (`PYTHONDONTWRITEBYTECODE=1`): without it, each
        of the hundreds of `mlops` processes the suite starts would compile MLflow's sources again
        (~10 s each instead of ~4 s)."""
        if not (self.path / ".venv").exists():
            sync = ("sync", "--locked", "--quiet", "--compile-bytecode", "--group", "test")
            self.run(tool("uv"), *sync)


def bake(output_dir: Path, **answers) -> Bake:
    """A real bake; its answers are read back from the `.cookiecutter.json` it records."""
    path = Path(cookiecutter(str(TEMPLATE), no_input=True, extra_context=answers,
                             output_dir=str(output_dir)))  # fmt: skip
    recorded = json.loads((path / ".cookiecutter.json").read_text(encoding="utf-8"))
    return Bake(path, recorded)


LEFTOVER = re.compile(r"(?<!\$)\{\{|\{%|%\}|cookiecutter\.")


def leftovers(bake_: Bake) -> list[str]:
    """Places where template syntax survived rendering (GitHub's ${{ }} is allowed)."""
    found = []
    for relative in sorted(bake_.files()):
        if relative == "uv.lock":
            continue
        for number, line in enumerate(bake_.read(relative).splitlines(), 1):
            if LEFTOVER.search(line):
                found.append(f"{relative}:{number}: {line.strip()}")
    return found
