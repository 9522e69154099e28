"""The datasets and metrics a team may choose have one home: `_choices` in `cookiecutter.json`.
The pre-gen hook reads it from the bake's context and the package from its rendered
`choices.json`; the prompts' texts and the `task` choice are prose and a list that must agree with
it, or a bake would offer an answer the project cannot run (or hide one it could)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .bakery import tool

TEMPLATE = Path(__file__).resolve().parents[1]
COOKIECUTTER = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
CHOICES = COOKIECUTTER["_choices"]


def prompt_lists(key: str) -> dict[str, list[str]]:
    """`classification: a, b, c; regression: d` inside the question's text."""
    text = COOKIECUTTER["__prompts__"][key]
    found = {}
    for task in COOKIECUTTER["task"]:
        listed = re.search(rf"{task}: ([\w, ]+?)(?:;|\)|$| or )", text)
        assert listed, f"the {key} prompt lists no {task} choices: {text}"
        found[task] = [name.strip() for name in listed.group(1).split(",")]
    return found


@pytest.mark.parametrize(
    "table, prompt_key", [("datasets", "dataset"), ("metrics", "primary_metric")]
)
def test_the_prompts_list_exactly_the_choices(table, prompt_key):
    assert list(CHOICES[table]) == COOKIECUTTER["task"], "one table per task, in the task order"
    assert prompt_lists(prompt_key) == CHOICES[table]


def test_every_metric_has_a_range():
    metrics = {name for names in CHOICES["metrics"].values() for name in names}
    assert set(CHOICES["metric_ranges"]) == metrics


def test_the_lower_is_better_metrics_are_metrics_whose_range_has_no_top():
    """The direction of a metric is written once (settings and promote read it from here): an
    error metric (log_loss, rmse, mae) has a floor and no ceiling; a score has a ceiling."""
    lower = set(CHOICES["lower_is_better"])
    assert lower == {name for name, (_, high) in CHOICES["metric_ranges"].items() if high is None}


PACKAGE_TABLES = """
import json
from {package}.ml.data import BUNDLED
from {package}.ml.metrics import METRICS
tables = {{"datasets": {{}}, "metrics": {{}}}}
for name, (task, load) in BUNDLED.items():
    assert callable(load), name
    tables["datasets"].setdefault(task, []).append(name)
for name, metric in METRICS.items():
    tables["metrics"].setdefault(metric.task, []).append(name)
print(json.dumps(tables))
"""


@pytest.mark.slow
def test_the_package_offers_every_choice_and_defines_it(bakery):
    """Every dataset has a scikit-learn loader and every metric a definition in the package
    (importing `metrics` fails on a metric without one)."""
    project = bakery("default")
    project.sync()
    script = PACKAGE_TABLES.format(package=project.package)
    result = project.run(tool("uv"), "run", "--frozen", "python", "-c", script)
    assert json.loads(result.stdout) == {key: CHOICES[key] for key in ("datasets", "metrics")}
