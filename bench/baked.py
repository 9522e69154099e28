"""The baked project's modules by their file name, wherever its rooms keep them
(`settings` at the top, `train` in `experiments/`, ...), imported from the interpreter running
the benchmark: a module that moves between rooms needs no change here."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from types import ModuleType


def package_name(project: Path) -> str:
    return json.loads((project / ".cookiecutter.json").read_text())["package_name"]


def modules(project: Path, *names: str) -> dict[str, ModuleType]:
    package = package_name(project)
    root = project / "src" / package
    found = {}
    for name in names:
        [path] = [p for p in root.rglob(f"{name}.py") if "__pycache__" not in p.parts]
        dotted = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        found[name] = importlib.import_module(dotted)
    return found
