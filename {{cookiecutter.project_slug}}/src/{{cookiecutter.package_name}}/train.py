"""Fit, evaluate and log one candidate run, in as few HTTP requests as MLflow allows.

Request economy (each request may cross a tunnel twice): tags go with `start_run`, params in
one batch, both datasets in one `log_inputs`, the model with explicit pip requirements (no
inference), and metrics last, after `log_model`, so they are linked to the model for free.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

import mlflow
import mlflow.sklearn
import skops.io
from mlflow.models import infer_signature
from sklearn.pipeline import Pipeline

from . import tracking
from .data import Split, load_split
from .errors import BadInput
from .metrics import evaluate
from .model import build_pipeline, model_params
from .provenance import CANDIDATE_TAG, HOLDOUT_DIGEST_TAG, run_tags
from .settings import Settings

MODEL_NAME = "model"
INPUT_EXAMPLE_ROWS = 5
RUNTIME_PACKAGES = ("mlflow", "scikit-learn", "pandas", "numpy", "scipy", "skops")


@dataclass(frozen=True)
class Candidate:
    """A fitted pipeline with its parameters and holdout scores, not yet logged."""

    pipeline: Pipeline
    params: dict[str, object]
    metrics: dict[str, float]


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    experiment_id: str
    model_uri: str
    metrics: dict[str, float]
    url: str


def fit_candidate(settings: Settings, split: Split, overrides: dict[str, object]) -> Candidate:
    """Fit on the train part with a fixed seed and score on the holdout."""
    params = {**settings.model.params, **overrides}
    pipeline = build_pipeline(settings.model.estimator, params, settings.data.seed)
    try:
        pipeline.fit(split.x_train, split.y_train)
    except (ValueError, TypeError) as exc:
        raise BadInput(f"scikit-learn rejected the model parameters: {_first_line(exc)}") from None
    metrics = evaluate(pipeline, split.x_test, split.y_test, settings.task)
    if settings.metric.primary not in metrics:
        raise BadInput(
            f"the model cannot produce {settings.metric.primary!r} (it has no predict_proba?)"
        )
    return Candidate(pipeline, model_params(pipeline), metrics)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def pip_requirements() -> list[str]:
    """The exact versions installed here (locked by uv), so MLflow infers nothing."""
    pins = []
    for name in RUNTIME_PACKAGES:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return pins


def log_model(pipeline: Pipeline, split: Split):
    """Log the pipeline with signature and input example; returns MLflow's ModelInfo."""
    example = split.x_train.head(INPUT_EXAMPLE_ROWS)
    signature = infer_signature(example, pipeline.predict(example))
    trusted = skops.io.get_untrusted_types(data=skops.io.dumps(pipeline))
    return mlflow.sklearn.log_model(
        pipeline,
        name=MODEL_NAME,
        signature=signature,
        input_example=example,
        pip_requirements=pip_requirements(),
        skops_trusted_types=trusted or None,
    )


def log_candidate(
    candidate: Candidate, split: Split, settings: Settings, tags: dict[str, str], **run_args
) -> tuple[str, str]:
    """Log params, datasets, model and metrics into the active or a new run; (run id, model URI)."""
    with mlflow.start_run(tags=tags, **run_args) as run:
        mlflow.log_params(_loggable(candidate.params))
        mlflow.log_inputs(
            datasets=[split.dataset("train"), split.dataset("holdout")],
            contexts=["training", "evaluation"],
            tags_list=[{}, {}],
        )
        info = log_model(candidate.pipeline, split)
        mlflow.log_metrics(candidate.metrics)
    return run.info.run_id, info.model_uri


def _loggable(params: dict[str, object]) -> dict[str, object]:
    return {name: ("None" if value is None else value) for name, value in params.items()}


def candidate_tags(settings: Settings, split: Split) -> dict[str, str]:
    return {
        **run_tags(settings.root, kind="train"),
        CANDIDATE_TAG: "true",
        HOLDOUT_DIGEST_TAG: split.holdout_digest,
        "mlops.estimator": settings.model.estimator,
    }


def train(
    settings: Settings, overrides: dict[str, object], run_name: str | None = None
) -> TrainResult:
    """`mlops train`: one run with params, metrics, model and datasets."""
    split = load_split(settings)
    candidate = fit_candidate(settings, split, overrides)
    uri = tracking.connect(settings)
    with tracking.server_errors(uri):
        experiment_id = tracking.experiment_id(settings.tracking.experiment, create=True)
        run_id, model_uri = log_candidate(
            candidate,
            split,
            settings,
            candidate_tags(settings, split),
            experiment_id=experiment_id,
            run_name=run_name,
        )
    url = tracking.run_url(uri, experiment_id, run_id)
    return TrainResult(run_id, experiment_id, model_uri, candidate.metrics, url)
