"""A team's long history, written through MLflow's own API, for the migration tests and the
migration benchmark: trained runs with datasets and logged models, a registered model with
its aliases and tags, traces with spans, tags and assessments, an evaluation dataset, and as
many metric rows as asked for, logged in batches as a training loop logs its per-step metrics.
"""

from __future__ import annotations

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric

from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.registry.challenger import register_challenger
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.tracking.model_registry import CHAMPION

BATCH = 1000  # MLflow's most metrics per log_batch request
LONG_TAG = "a long note " * 400  # MLflow's tag values run to 8,000 characters


def write_history(team: Settings, client: MlflowClient, metric_rows: int) -> str:
    """Everything a team's server holds after a while; the id of the run with the metrics."""
    knob = next(iter(team.model.params))  # C or alpha: the baked task's first parameter
    runs = [train(team, {knob: value}).run_id for value in (0.1, 10.0)]
    version = register_challenger(team, allow_dirty=True).version  # a bench runs from any tree
    name = team.model.registered_name
    client.set_registered_model_alias(name, CHAMPION, version)
    client.set_model_version_tag(name, version, "reviewed", "yes")
    client.set_registered_model_tag(name, "owner", "team")
    client.set_tag(runs[0], "note", LONG_TAG)
    experiment = client.get_run(runs[0]).info.experiment_id
    client.set_experiment_tag(experiment, "purpose", "history")
    model = client.search_logged_models(experiment_ids=[experiment])[0]
    client.log_metric(runs[0], "latency_ms", 12.0, model_id=model.model_id)
    _traces(experiment)
    _evaluation_dataset(experiment)
    _metric_steps(client, runs[1], metric_rows)
    return runs[1]


def _traces(experiment: str) -> None:
    mlflow.set_experiment(experiment_id=experiment)
    for number in range(3):
        with mlflow.start_span(name="predict") as span:
            span.set_inputs({"rows": number})
            with mlflow.start_span(name="score") as inner:
                inner.set_outputs({"score": 0.5 + number})
        mlflow.flush_trace_async_logging()
        trace_id = mlflow.get_last_active_trace_id()
        mlflow.set_trace_tag(trace_id, "batch", str(number))
        mlflow.log_feedback(trace_id=trace_id, name="helpful", value=number > 0)


def _evaluation_dataset(experiment: str) -> None:
    from mlflow.genai.datasets import create_dataset

    dataset = create_dataset(name="questions", experiment_id=experiment, tags={"kind": "qa"})
    dataset.merge_records(
        [{"inputs": {"question": f"q{n}"}, "expectations": {"answer": f"a{n}"}} for n in range(5)]
    )


def _metric_steps(client: MlflowClient, run_id: str, rows: int) -> None:
    for start in range(0, rows, BATCH):
        steps = range(start, min(rows, start + BATCH))
        client.log_batch(run_id, metrics=[Metric("loss", 1 / (1 + s), 1_700_000_000_000 + s, s)
                                          for s in steps])  # fmt: skip
