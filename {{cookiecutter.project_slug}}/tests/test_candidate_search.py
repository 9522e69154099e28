"""Which run register-challenger may pick, asked of a real server."""

import mlflow
import pytest

from {{ cookiecutter.package_name }} import tracking
from {{ cookiecutter.package_name }}.candidate_search import CandidateFilter, best_candidate, filter_string
from {{ cookiecutter.package_name }}.errors import BadInput
from {{ cookiecutter.package_name }}.train import train


def experiment(settings) -> str:
    with tracking.connected(settings):
        return tracking.experiment_id(settings.tracking.experiment, create=True)


def test_the_filter_keeps_finished_candidates_with_a_model():
    text = filter_string(CandidateFilter(newer_than_ms=5, git_commit="abc'd"))
    assert "tags.`mlops.candidate` = 'true'" in text
    assert "tags.`mlops.has_model` = 'true'" in text
    assert "attributes.status = 'FINISHED'" in text
    assert "attributes.start_time > 5" in text and "'abc\\'d'" in text


def test_the_best_run_wins_in_the_metrics_direction(settings, as_admin):
    (name, value), primary = next(iter(settings.model.params.items())), settings.metric.primary
    results = [train(settings, {name: value * factor}) for factor in (0.001, 1)]
    best = best_candidate(settings, experiment(settings), CandidateFilter())
    scores = {r.run_id: r.metrics[primary] for r in results}
    pick = max if settings.metric.greater_is_better else min
    assert scores[best.info.run_id] == pick(scores.values())


def test_runs_that_are_not_candidates_are_never_picked(settings, as_admin):
    experiment_id = experiment(settings)
    result = train(settings, {})
    primary, better = settings.metric.primary, 1e9 if settings.metric.greater_is_better else -1e9
    with mlflow.start_run(experiment_id=experiment_id, tags={"mlops.kind": "evaluation"}):
        mlflow.log_metric(primary, better)
    with mlflow.start_run(
        experiment_id=experiment_id, tags={"mlops.candidate": "true", "mlops.has_model": "true"}
    ):
        mlflow.log_metric(primary, better)
        raise_failed = mlflow.active_run().info.run_id
    mlflow.MlflowClient().set_terminated(raise_failed, "FAILED")
    assert best_candidate(settings, experiment_id, CandidateFilter()).info.run_id == result.run_id


def test_no_runs_is_bad_input(settings, as_admin):
    with pytest.raises(BadInput, match="no candidate runs"):
        best_candidate(settings, experiment(settings), CandidateFilter())


def test_only_unfinished_runs_is_bad_input(settings, as_admin):
    experiment_id = experiment(settings)
    tags = {"mlops.candidate": "true", "mlops.has_model": "true"}
    run = mlflow.MlflowClient().create_run(experiment_id, tags=tags)
    assert run.info.status == "RUNNING"
    with pytest.raises(BadInput, match="no finished candidate"):
        best_candidate(settings, experiment_id, CandidateFilter())


def test_a_missing_metric_is_bad_input(settings, as_admin):
    experiment_id = experiment(settings)
    with mlflow.start_run(
        experiment_id=experiment_id, tags={"mlops.candidate": "true", "mlops.has_model": "true"}
    ):
        mlflow.log_metric("something_else", 1.0)
    with pytest.raises(BadInput, match="is missing on the best candidate"):
        best_candidate(settings, experiment_id, CandidateFilter())


def test_filters_narrow_the_search(settings, as_admin):
    experiment_id = experiment(settings)
    train(settings, {})
    with pytest.raises(BadInput, match="matches the filters"):
        best_candidate(settings, experiment_id, CandidateFilter(git_commit="0" * 40))
