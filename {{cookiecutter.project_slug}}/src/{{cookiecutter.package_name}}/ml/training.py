"""Fit one candidate: cross-validate it on the training part (the score that ranks candidates),
fit it on all of it, and score it on the holdout (recorded, never used to choose).

Pure scikit-learn: nothing here talks to MLflow, so a fit never waits on the server and never
costs a request. `mlops train` and `mlops tune` log what this returns.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

from ..errors import BadInput, first_line
from ..settings import Settings
from .cross_validation import OutOfFold, cross_validated
from .data import Split
from .metrics import evaluate
from .model import model_params, pipeline_for


@dataclass(frozen=True)
class FittedCandidate:
    """A fitted pipeline with its parameters and scores, not yet logged."""

    pipeline: Pipeline
    params: dict[str, object]
    metrics: dict[str, float]
    out_of_fold: OutOfFold | None = field(default=None, repr=False, compare=False)
    """What the pictures are drawn from; None once logged or read back from disk."""
    pictures: dict[str, bytes] = field(default_factory=dict, repr=False, compare=False)
    """File name -> content, logged under `pictures/` (drawn for the run that keeps a model)."""
    profile: dict | None = field(default=None, repr=False, compare=False)
    """The reference `mlops monitor` compares new data with (`profiles/`), logged in MLmodel."""


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
    return FittedCandidate(pipeline, model_params(pipeline), {**validation.scores, **metrics},
                           validation.out_of_fold)  # fmt: skip


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
