"""The datasets and metrics a team may choose are listed in four places: the prompts in
`cookiecutter.json`, the pre-gen hook that checks the answers, and the generated package's
`data.BUNDLED` and `metrics.METRICS`. They must say the same thing, or a bake accepts an answer
the project cannot run (or refuses one it could)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from .bakery import tool

TEMPLATE = Path(__file__).resolve().parents[1]
TASKS = ("classification", "regression")


def hook_tables() -> dict[str, dict[str, tuple[str, ...]]]:
    tree = ast.parse((TEMPLATE / "hooks" / "pre_gen_project.py").read_text(encoding="utf-8"))
    return {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id in ("DATASETS", "METRICS")
    }


def prompt_lists(key: str) -> dict[str, set[str]]:
    """`classification: a, b, c; regression: d` inside the question's text."""
    prompt = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
    text = prompt["__prompts__"][key]
    found = {}
    for task in TASKS:
        listed = re.search(rf"{task}: ([\w, ]+?)(?:;|\)|$| or )", text)
        assert listed, f"the {key} prompt lists no {task} choices: {text}"
        found[task] = {name.strip() for name in listed.group(1).split(",")}
    return found


PACKAGE_TABLES = """
import json
from {package}.data import BUNDLED
from {package}.metrics import METRICS
tables = {{"DATASETS": {{}}, "METRICS": {{}}}}
for name, (task, _) in BUNDLED.items():
    tables["DATASETS"].setdefault(task, []).append(name)
for name, metric in METRICS.items():
    tables["METRICS"].setdefault(metric.task, []).append(name)
print(json.dumps(tables))
"""


@pytest.fixture(scope="module")
def package_tables(bakery) -> dict[str, dict[str, list[str]]]:
    project = bakery("default")
    project.sync()
    script = PACKAGE_TABLES.format(package=project.package)
    result = project.run(tool("uv"), "run", "--frozen", "python", "-c", script)
    return json.loads(result.stdout)


@pytest.mark.slow
@pytest.mark.parametrize(
    "table, prompt_key", [("DATASETS", "dataset"), ("METRICS", "primary_metric")]
)
def test_the_prompts_the_hook_and_the_package_list_the_same_choices(
    package_tables, table, prompt_key
):
    hook = hook_tables()[table]
    prompts = prompt_lists(prompt_key)
    for task in TASKS:
        package = set(package_tables[table][task])
        assert set(hook[task]) == package, f"{table} for {task}: hook vs package"
        assert prompts[task] == package, f"{table} for {task}: cookiecutter.json vs package"
