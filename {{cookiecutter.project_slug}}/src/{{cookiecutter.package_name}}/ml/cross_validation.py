"""The validation score that ranks candidates: k-fold cross-validation on the training part.

The holdout belongs to `promote` alone. If `tune` and `register-challenger` picked the best of
many candidates by their holdout score, the winner's score would be inflated by luck (the
winner's curse) and the gate would then test it on the very rows that flattered it. Folds are
seeded and stratified for classification, and scored by the project's own metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.pipeline import Pipeline

from ..metric_names import spread_metric, validation_metric
from ..settings import Settings
from .data import Split
from .metrics import Predictions, predict, score


def folds(settings: Settings) -> KFold | StratifiedKFold:
    kind = StratifiedKFold if settings.task == "classification" else KFold
    return kind(n_splits=settings.data.cv_folds, shuffle=True, random_state=settings.data.seed)


@dataclass
class Fold:
    """One fold's model and the training rows it never saw, with what it predicted for them."""

    model: Pipeline | None
    features: pd.DataFrame | None
    target: pd.Series
    predictions: Predictions


@dataclass
class OutOfFold:
    """Every training row predicted by the fold model that did not see it: what a run's
    pictures show, so no picture is ever drawn from the holdout. The predictions are the very
    ones the validation score was computed from (nothing is predicted twice)."""

    folds: list[Fold] = field(default_factory=list)
    classes: list | None = None
    """A classifier's labels, in the order of its probability columns."""

    def release(self) -> None:
        """Drop the fold models and their rows; the predictions stay (a few numbers a row)."""
        for fold in self.folds:
            fold.model = fold.features = None

    @property
    def target(self) -> pd.Series:
        return pd.concat([fold.target for fold in self.folds])

    @property
    def predictions(self) -> Predictions:
        labels = np.concatenate([fold.predictions.labels for fold in self.folds])
        probas = [
            fold.predictions.proba for fold in self.folds if fold.predictions.proba is not None
        ]
        return Predictions(labels, np.concatenate(probas) if probas else None)


@dataclass(frozen=True)
class Validation:
    scores: dict[str, float]
    out_of_fold: OutOfFold


def cross_validated(pipeline: Pipeline, split: Split, settings: Settings) -> Validation:
    """Mean and spread over the folds of every metric the model supports, and the out-of-fold
    predictions they were computed from."""
    seen = OutOfFold()

    def scorer(model, features, target) -> dict[str, float]:
        predictions = predict(model, features)
        seen.classes = list(getattr(model, "classes_", [])) or None
        seen.folds.append(Fold(model, features, target, predictions))
        return score(predictions, target, settings.task)

    results = cross_validate(
        pipeline, split.x_train, split.y_train, cv=folds(settings), scoring=scorer,
        error_score="raise",
    )  # fmt: skip
    scores: dict[str, float] = {}
    for key, values in results.items():
        if key.startswith("test_"):
            name = key.removeprefix("test_")
            scores[validation_metric(name)] = float(np.mean(values))
            scores[spread_metric(name)] = float(np.std(values))
    return Validation(scores, seen)


def scores_line(metric: str, scores: dict[str, float]) -> str:
    """The validation score that ranks a run, then its holdout score, for the record."""
    return (
        f"{validation_metric(metric)} = {scores[validation_metric(metric)]:.4f} "
        f"+/- {scores[spread_metric(metric)]:.4f} "
        f"(holdout {metric} = {scores[metric]:.4f}, kept for promote)"
    )
