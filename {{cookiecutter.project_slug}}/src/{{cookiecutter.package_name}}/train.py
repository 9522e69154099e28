"""`mlops train`: fit one candidate, score it on the holdout, log it as one run.

The fit happens before any request, so a dead tunnel never costs the training: the run is then
saved locally (see `pending.py`) and uploaded later with `mlops upload-pending`.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import pending, tracking
from .data import Split, load_split
from .errors import BadInput, ServerUnavailable, first_line
from .metrics import evaluate
from .model import build_pipeline, model_params
from .runs import ATTEMPT_TAG, Candidate, candidate_tags, log_candidate, new_attempt
from .settings import Settings

__all__ = ["Candidate", "TrainResult", "fit_candidate", "log_candidate", "train"]


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
        raise BadInput(f"scikit-learn rejected the model parameters: {first_line(exc)}") from None
    metrics = evaluate(pipeline, split.x_test, split.y_test, settings.task)
    if settings.metric.primary not in metrics:
        raise BadInput(
            f"the model cannot produce {settings.metric.primary!r} (it has no predict_proba?)"
        )
    return Candidate(pipeline, model_params(pipeline), metrics)


def train(
    settings: Settings, overrides: dict[str, object], run_name: str | None = None
) -> TrainResult:
    """`mlops train`: one run with params, metrics, model and datasets."""
    split = load_split(settings)
    candidate = fit_candidate(settings, split, overrides)
    tags = {**candidate_tags(settings, split), ATTEMPT_TAG: new_attempt()}
    uri = tracking.connect(settings)
    try:
        with tracking.server_errors(uri):
            experiment_id = tracking.experiment_id(settings.tracking.experiment, create=True)
            run_id, model_uri = log_candidate(
                candidate, split, settings, tags, experiment_id=experiment_id, run_name=run_name
            )
    except ServerUnavailable as exc:
        folder = pending.save(settings, candidate, split, tags, run_name)
        raise ServerUnavailable(pending.saved_message(exc, folder)) from exc
    url = tracking.run_url(uri, experiment_id, run_id)
    return TrainResult(run_id, experiment_id, model_uri, candidate.metrics, url)
