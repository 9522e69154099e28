"""A CSV answer is checked at bake time: it exists (a relative path is read from where
cookiecutter was started, not from --output-dir), reads, has the target column, and its target
fits the task. A bad one stops the bake with one line and leaves no folder."""

from __future__ import annotations

import re
import shlex
import subprocess

import pytest

from ..bakery import TEMPLATE, tool
from ..team_csv import write_team_csv


def cookiecutter_in(start, output, answers: dict) -> subprocess.CompletedProcess:
    """Run cookiecutter from a shell started in `start`, as a user would."""
    args = [tool("cookiecutter"), "--no-input", "-o", str(output), str(TEMPLATE)]
    args += [f"{key}={value}" for key, value in answers.items()]
    command = f"cd {shlex.quote(str(start))} && {shlex.join(args)}"
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=300)


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


BAD_CSVS = [
    ("missing", None, {}, "dataset", "no CSV file at"),
    ("empty", "", {}, "dataset", "is empty"),
    ("header only", "a,b,outcome\n", {}, "dataset", "has a header but no rows"),
    ("no target", "a,b\n1,2\n", {}, "target_column", "not a column of data.csv (a, b)"),
    ("text for regression", "a,outcome\n1,low\n2,high\n", {"task": "regression"}, "task",
     "holds text ('low')"),
    ("continuous for classification",
     "a,outcome\n" + "".join(f"{i},{i * 1.37:.2f}\n" for i in range(40)), {}, "task",
     "continuous numbers"),
    ("one class", "a,outcome\n1,yes\n2,yes\n", {}, "target_column", "one class only"),
    ("not utf-8", None, {}, "dataset", "cannot be read as a UTF-8 CSV"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "text", "answers", "key", "message"), BAD_CSVS, ids=[c[0] for c in BAD_CSVS]
)
def test_a_bad_csv_stops_the_bake_with_one_line(tmp_path, case, text, answers, key, message):
    start, output = tmp_path / "start", tmp_path / "out"
    output.mkdir()
    start.mkdir()
    if text is not None:
        write(start / "data.csv", text)
    elif case == "not utf-8":
        (start / "data.csv").write_bytes(b"a,outcome\n\xff\xfe,\x81\n")
    result = cookiecutter_in(
        start, output, {"dataset": "data.csv", "target_column": "outcome", **answers}
    )
    lines = [line for line in result.stderr.splitlines() if line.startswith("Invalid answer")]
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Invalid answer for {key}: ") and message in lines[0]
    assert list(output.iterdir()) == []


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_a_relative_csv_is_read_from_where_cookiecutter_started(tmp_path, task):
    start, output = tmp_path / "start", tmp_path / "elsewhere"
    csv_file = write_team_csv(start / "exports" / "customers.csv", task)
    output.mkdir()
    answers = {"dataset": "exports/customers.csv", "target_column": "outcome", "task": task}
    if task == "regression":
        answers["primary_metric"] = "rmse"
    result = cookiecutter_in(start, output, answers)
    assert result.returncode == 0, result.stderr
    copied = output / "team-model" / "data" / "customers.csv"
    assert copied.read_bytes() == csv_file.read_bytes()
    config = (output / "team-model" / "mlops.toml").read_text(encoding="utf-8")
    assert '\nid = ["customer_id"]' in config
    assert '[data] id = ["customer_id"] in mlops.toml' in result.stdout


def test_ids_are_named_at_bake_as_the_data_checks_name_them(tmp_path):
    """The hook flags what `mlops train` would refuse as a row id, and nothing else: a unique
    `*_no` column and a row counter, not a unique measurement or a repeated code."""
    rows = [f"{i + 1},T-{i},{i * 1.37 + 0.01:.2f},{i % 3},{'yes' if i % 2 else 'no'}"
            for i in range(40)]  # fmt: skip
    csv_file = write(tmp_path / "start" / "t.csv", "row,ticket_no,amount,code,outcome\n"
                     + "\n".join(rows) + "\n")  # fmt: skip
    (tmp_path / "out").mkdir()
    answers = {"dataset": str(csv_file), "target_column": "outcome"}
    assert cookiecutter_in(tmp_path, tmp_path / "out", answers).returncode == 0
    config = (tmp_path / "out" / "team-model" / "mlops.toml").read_text(encoding="utf-8")
    assert '\nid = ["row", "ticket_no"]' in config


def test_the_hooks_id_rule_is_the_packages():
    pattern = re.compile(r'^ID_NAME = re\.compile\(r"(.*)", re\.I\)$', re.M)
    hook = (TEMPLATE / "hooks" / "post_gen_project.py").read_text(encoding="utf-8")
    checks = next(TEMPLATE.glob("{{cookiecutter.project_slug}}/src/*/ml/data_checks.py"))
    assert pattern.findall(hook) == pattern.findall(checks.read_text(encoding="utf-8"))
    assert len(pattern.findall(hook)) == 1
