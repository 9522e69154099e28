"""Bad answers stop the bake with one line naming the answer, and leave nothing behind."""

from __future__ import annotations

import subprocess

import pytest

from ..bakery import TEMPLATE, tool

BAD_ANSWERS = [
    ({"project_slug": "1-starts-with-digit"}, "project_slug"),
    ({"project_slug": "Has Spaces"}, "project_slug"),
    ({"package_name": "class"}, "package_name"),
    ({"package_name": "my-package"}, "package_name"),
    ({"package_name": "mlflow"}, "package_name"),
    ({"python_version": "3.9"}, "python_version"),
    ({"python_version": "3.14"}, "python_version"),
    ({"primary_metric": "rmse"}, "primary_metric"),
    ({"task": "regression", "primary_metric": "f1"}, "primary_metric"),
    ({"dataset": "diabetes"}, "dataset"),
    ({"dataset": "mnist"}, "dataset"),
    ({"min_metric_value": "high"}, "min_metric_value"),
    ({"min_metric_value": "1.5"}, "min_metric_value"),
    (
        {"task": "regression", "primary_metric": "rmse", "min_metric_value": "-1"},
        "min_metric_value",
    ),
    ({"min_metric_value": "nan"}, "min_metric_value"),
    ({"task": "regression", "primary_metric": "r2", "min_metric_value": "1.5"}, "min_metric_value"),
    ({"tracking_uri": "localhost:5000"}, "tracking_uri"),
    ({"tracking_uri": "ftp://127.0.0.1"}, "tracking_uri"),
    ({"tracking_uri": "http://admin:secret@127.0.0.1:5000"}, "tracking_uri"),
    ({"tracking_uri": "http://127.0.0.1:99999"}, "tracking_uri"),
    ({"tunnel_domain": "https://team.ngrok-free.app"}, "tunnel_domain"),
    ({"runner_label": "self-hosted"}, "runner_label"),
    ({"runner_label": "has space"}, "runner_label"),
    ({"github_owner": "-bad-"}, "github_owner"),
    ({"registered_model_name": "a/b"}, "registered_model_name"),
    ({"experiment_name": " "}, "experiment_name"),
]


def run_cookiecutter(tmp_path, answers: dict) -> subprocess.CompletedProcess:
    args = [tool("cookiecutter"), "--no-input", "-o", str(tmp_path), str(TEMPLATE)]
    args += [f"{key}={value}" for key, value in answers.items()]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("answers", "key"), BAD_ANSWERS)
def test_a_bad_answer_fails_with_one_line_and_no_folder(tmp_path, answers, key):
    result = run_cookiecutter(tmp_path, answers)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("Invalid answer")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Invalid answer for {key}: ")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("key", "value"), [("task", "clustering"), ("tunnel", "tailscale"), ("license", "GPL")]
)
def test_a_value_outside_a_choice_list_is_refused_by_cookiecutter(tmp_path, key, value):
    """Choice questions are checked by cookiecutter itself, before the hook runs."""
    result = run_cookiecutter(tmp_path, {key: value})
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert f"{value} provided for choice variable {key}" in last
    assert list(tmp_path.iterdir()) == []


def test_good_answers_pass(tmp_path):
    result = run_cookiecutter(
        tmp_path,
        {"task": "regression", "primary_metric": "mae", "min_metric_value": "", "tunnel": "none"},
    )
    assert result.returncode == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["team-model"]
