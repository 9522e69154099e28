"""Which run register-challenger may pick, asked of a real server."""

import math
import random
import uuid

import mlflow
import pytest
from mlflow.entities import Metric

from {{ cookiecutter.package_name }}.errors import BadInput
from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.metric_names import validation_metric
from {{ cookiecutter.package_name }}.ml.metrics import METRICS
from {{ cookiecutter.package_name }}.registry import candidate_search
from {{ cookiecutter.package_name }}.registry.candidate_search import (
    CandidateFilter,
    bar_for,
    best_candidate,
    filter_string,
    order_by,
    ranking_metric,
)
from {{ cookiecutter.package_name }}.tracking import connection

from ..project import with_changes


def experiment(settings) -> str:
    with connection.connected(settings):
        return connection.experiment_id(settings.tracking.experiment, create=True)


def test_the_filter_keeps_finished_candidates_with_a_model():
    text = filter_string(CandidateFilter(newer_than_ms=5, git_commit="abc'd"))
    assert "tags.`mlops.candidate` = 'true'" in text
    assert "tags.`mlops.has_model` = 'true'" in text
    assert "attributes.status = 'FINISHED'" in text
    assert "attributes.start_time > 5" in text and "'abc\\'d'" in text


def test_the_best_run_wins_in_the_metrics_direction(settings, as_admin):
    (name, value), ranked_by = next(iter(settings.model.params.items())), ranking_metric(settings)
    results = [train(settings, {name: value * factor}) for factor in (0.001, 1)]
    best = best_candidate(settings, experiment(settings), CandidateFilter())
    scores = {r.run_id: r.metrics[ranked_by] for r in results}  # the validation score
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


# --- the challenger's score as the bar: the same pick, from a much smaller search -----------


@pytest.fixture(scope="module")
def crowded(tracking_server, platform_settings):
    """An experiment of 60 runs built to trip a bar: tied scores and start times, NaN, better
    runs that are unfinished, without a model or not candidates at all."""
    rng = random.Random(7)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
        patch.setenv("MLFLOW_TRACKING_PASSWORD", tracking_server.admin_password)
        client = mlflow.MlflowClient(tracking_uri=tracking_server.url)
        experiment_id = client.create_experiment(f"crowded-{uuid.uuid4().hex[:8]}")
        names = [validation_metric(s.metric.primary) for s in directions(platform_settings)]
        for i in range(60):
            kind = rng.choice(["candidate"] * 6 + ["unfinished", "no model", "other"])
            tags = {"mlops.candidate": str(kind != "other").lower(),
                    "mlops.has_model": str(kind != "no model").lower()}  # fmt: skip
            run = client.create_run(experiment_id, start_time=1_000 + i // 3, tags=tags)
            scores = [math.nan if rng.random() < 0.05 else rng.choice(SCORES) for _ in names]
            client.log_batch(
                run.info.run_id, [Metric(n, v, 0, 0) for n, v in zip(names, scores, strict=True)]
            )
            if kind != "unfinished":
                client.set_terminated(run.info.run_id, "FINISHED")
        yield experiment_id, client


SCORES = [0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 0.9, 0.95]


def directions(platform_settings):
    """The project's metric and one of the same task ranked the other way."""
    primary = METRICS[platform_settings.metric.primary]
    same_task = [m for m in METRICS.values() if m.task == primary.task]
    other = next(m for m in same_task if m.greater_is_better != primary.greater_is_better)
    flipped = with_changes(
        platform_settings,
        metric={"primary": other.name, "greater_is_better": other.greater_is_better},
        promotion={"min_value": None},
    )
    return [platform_settings, flipped]


@pytest.mark.parametrize("page", [candidate_search.PAGE, 2], ids=["page-100", "page-2"])
@pytest.mark.parametrize("direction", [0, 1], ids=["project-metric", "other-direction"])
def test_the_challengers_score_as_bar_never_changes_the_pick(
    crowded, platform_settings, tracking_server, as_admin, direction, page, monkeypatch
):
    """Pages of 2 make the ineligible runs above a bar span many pages."""
    monkeypatch.setattr(candidate_search, "PAGE", page)
    experiment_id, client = crowded
    settings = with_changes(directions(platform_settings)[direction],
                            tracking={"uri": tracking_server.url})  # fmt: skip
    full = best_candidate(settings, experiment_id, CandidateFilter())
    best = full.data.metrics[ranking_metric(settings)]
    nudged = [math.nextafter(s, side) for s in [*SCORES, best] for side in (-math.inf, math.inf)]
    bars = SCORES + nudged + [None, -1e9, 1e9, math.nan, math.inf, -math.inf]
    for bar in bars:
        picked = best_candidate(settings, experiment_id, CandidateFilter(), bar)
        assert picked.info.run_id == full.info.run_id, f"bar {bar!r}"
        reachable = bar_for(settings, bar)
        if reachable and (best >= bar if settings.metric.greater_is_better else best <= bar):
            narrowed = client.search_runs(
                [experiment_id], filter_string(CandidateFilter(), bar=reachable),
                order_by=order_by(settings), max_results=1,
            )  # fmt: skip
            assert [r.info.run_id for r in narrowed] == [full.info.run_id], f"bar {bar!r}"
