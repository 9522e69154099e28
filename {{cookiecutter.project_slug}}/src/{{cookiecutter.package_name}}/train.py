"""`mlops train`: fit one candidate, score it on the holdout, log it as one run.

The fit happens before any request, so a dead tunnel never costs the training: the run is then
saved locally (see `pending.py`) and uploaded later with `mlops upload-pending`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sklearn.utils._param_validation import InvalidParameterError

from . import pending, tracking
from .cross_validation import cross_validated
from .data import Split, load_split
from .errors import BadInput, ServerUnavailable, first_line
from .metrics import evaluate
from .model import model_params, pipeline_for
from .runs import FittedCandidate, candidate_tags, log_candidate, new_attempt
from .settings import Settings
from .tag_keys import ATTEMPT_TAG


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    experiment_id: str
    model_uri: str
    metrics: dict[str, float]
    url: str


def fit_candidate(
    settings: Settings, split: Split, overrides: dict[str, object]
) -> FittedCandidate:
    """Cross-validate on the train part (the score that ranks candidates), fit on all of it,
    and score on the holdout (recorded, never used to choose)."""
    pipeline = pipeline_for(settings, split.x_train, overrides)
    with fit_errors(settings.model.estimator):
        validation = cross_validated(pipeline, split, settings)
        pipeline.fit(split.x_train, split.y_train)
    metrics = evaluate(pipeline, split.x_test, split.y_test, settings.task)
    if settings.metric.primary not in metrics:
        raise BadInput(
            f"the model cannot produce {settings.metric.primary!r} (it has no predict_proba?)"
        )
    return FittedCandidate(pipeline, model_params(pipeline), {**validation, **metrics})


@contextmanager
def fit_errors(estimator: str) -> Iterator[None]:
    """scikit-learn's errors in one line that says whose they are: a parameter scikit-learn
    rejects by name, or an estimator that cannot fit these parameters on this data (the data
    itself has been checked before, see `data_checks`)."""
    short = estimator.rpartition(".")[2]
    try:
        yield
    except InvalidParameterError as exc:
        raise BadInput(f"invalid parameter for {short}: {first_line(exc)}") from None
    except (ValueError, TypeError) as exc:
        raise BadInput(f"{short} could not be fitted: {first_line(exc)}") from None


def train(
    settings: Settings, overrides: dict[str, object], run_name: str | None = None
) -> TrainResult:
    """`mlops train`: one run with params, metrics, model and datasets."""
    split = load_split(settings)
    candidate = fit_candidate(settings, split, overrides)
    candidate.trusted_types  # noqa: B018 - refused here, before any request
    tags = {**candidate_tags(settings, split), ATTEMPT_TAG: new_attempt()}
    with tracking.connected(settings) as uri:
        try:
            with tracking.server_errors(uri, "member"):
                experiment_id = tracking.experiment_id(settings.tracking.experiment, create=True)
                run_id, model_uri = log_candidate(
                    candidate, split, settings, tags, experiment_id=experiment_id, run_name=run_name
                )
        except ServerUnavailable as exc:
            folder = pending.save(settings, candidate, split, tags, run_name)
            raise ServerUnavailable(pending.saved_message(exc, folder)) from exc
        url = tracking.run_url(uri, experiment_id, run_id)
        return TrainResult(run_id, experiment_id, model_uri, candidate.metrics, url)
