"""`mlops tune`: seeded search, one parent, a child per trial, only the best child's model."""

import re

import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.errors import BadInput
from {{ cookiecutter.package_name }}.experiments.tune import tune
from {{ cookiecutter.package_name }}.metric_names import spread_metric, validation_metric
from {{ cookiecutter.package_name }}.tracking.tag_keys import (
    CANDIDATE_TAG,
    HAS_MODEL_TAG,
    HOLDOUT_DIGEST_TAG,
)

from ..project import PLATFORM_CONFIG, with_changes

PICKABLE = "tags.`mlops.candidate` = 'true' AND tags.`mlops.has_model` = 'true'"


def searched_param(settings) -> str:
    return next(iter(settings.tune.space))


def test_a_tune_logs_a_parent_a_child_per_trial_and_one_model(settings, as_admin):
    result = tune(settings, trials=4, progress=False)
    client = MlflowClient(as_admin.url)
    runs = {run.info.run_id: run for run in client.search_runs([result.experiment_id])}
    assert len(runs) == 5 and {run.info.status for run in runs.values()} == {"FINISHED"}
    parent = runs.pop(result.parent_run_id)
    assert parent.data.tags["mlops.kind"] == "tune" and CANDIDATE_TAG not in parent.data.tags
    assert parent.data.tags["mlops.best_run_id"] == result.best_run_id
    assert parent.data.params["tune.trials"] == "4"
    primary = settings.metric.primary
    ranked_by = validation_metric(primary)
    for child in runs.values():
        assert child.data.tags["mlflow.parentRunId"] == result.parent_run_id
        assert child.data.tags[CANDIDATE_TAG] == "true" and HOLDOUT_DIGEST_TAG in child.data.tags
        assert searched_param(settings) in child.data.params
        assert {primary, ranked_by, spread_metric(primary)} <= set(child.data.metrics)
    pick = max if settings.metric.greater_is_better else min
    best = pick(runs.values(), key=lambda run: run.data.metrics[ranked_by])
    assert best.info.run_id == result.best_run_id
    assert parent.data.metrics[f"best_{ranked_by}"] == best.data.metrics[ranked_by]
    with_model = [run for run in runs.values() if run.data.tags.get(HAS_MODEL_TAG) == "true"]
    assert [run.info.run_id for run in with_model] == [result.best_run_id]
    assert len(best.inputs.dataset_inputs) == 2
    models = client.search_logged_models(experiment_ids=[result.experiment_id])
    assert [model.source_run_id for model in models] == [result.best_run_id]
    pickable = client.search_runs([result.experiment_id], filter_string=PICKABLE)
    assert [run.info.run_id for run in pickable] == [result.best_run_id]


BAD_SPACES = {
    "empty": ({}, "is empty"),
    "no choices": ({"P": []}, "list of choices is empty"),
    "a scalar": ({"P": 1.0}, "expected a list of choices"),
    "no high": ({"P": {"low": 1}}, "needs low and high"),
    "unknown key": ({"P": {"low": 1, "high": 2, "step": 1}}, "unknown key 'step'"),
    "reversed": ({"P": {"low": 2.0, "high": 1.0}}, "must be below high"),
    "log from zero": ({"P": {"low": 0.0, "high": 1.0, "log": True}}, "needs low > 0"),
    "text bounds": ({"P": {"low": "a", "high": "b"}}, "must be numbers"),
    "unknown param": ({"no_such_param": [1, 2]}, "unknown parameter 'no_such_param'"),
}


@pytest.mark.parametrize("space, message", BAD_SPACES.values(), ids=BAD_SPACES)
def test_a_bad_space_is_bad_input(settings, space, message):
    param = searched_param(settings)
    space = {(param if name == "P" else name): spec for name, spec in space.items()}
    with pytest.raises(BadInput, match=re.escape(message)) as error:
        tune(with_changes(settings, tune={"space": space}), trials=2, progress=False)
    assert error.value.exit_code == 2 and str(error.value).startswith("[tune.space]")


@pytest.mark.parametrize("trials, method", [(0, "random"), (3, "bayes")])
def test_a_bad_trial_count_or_method_is_bad_input(settings, trials, method):
    with pytest.raises(BadInput, match="method must be grid or random and trials at least 1"):
        tune(settings, trials=trials, method=method, progress=False)


def test_the_command_exits_2_on_a_bad_space(tmp_path, monkeypatch, capsys):
    text = PLATFORM_CONFIG.read_text(encoding="utf-8")
    config = tmp_path / "mlops.toml"
    config.write_text(re.sub(r"\[tune\.space\][^\[]*", "[tune.space]\nnope = []\n\n", text))
    monkeypatch.setenv("MLOPS_CONFIG", str(config))
    assert main(["tune", "--trials", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "[tune.space] nope" in err


def test_the_command_prints_the_parent_and_the_best_run(as_admin, monkeypatch, capsys):
    monkeypatch.setenv("MLOPS_CONFIG", str(PLATFORM_CONFIG))
    assert main(["tune", "--trials", "2", "--method", "grid", "--run-name", "cli-tune"]) == 0
    out = capsys.readouterr().out
    assert "2 trials" in out and f"{as_admin.url}/#/experiments/" in out
    assert "best run " in out and "models:/m-" in out
