"""The validation score that ranks candidates: k-fold cross-validation on the training part.

The holdout belongs to `promote` alone. If `tune` and `register-challenger` picked the best of
many candidates by their holdout score, the winner's score would be inflated by luck (the
winner's curse) and the gate would then test it on the very rows that flattered it. Folds are
seeded and stratified for classification, and scored by the project's own metrics.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.pipeline import Pipeline

from ..metric_names import spread_metric, validation_metric
from ..settings import Settings
from .data import Split
from .metrics import evaluate


def folds(settings: Settings) -> KFold | StratifiedKFold:
    kind = StratifiedKFold if settings.task == "classification" else KFold
    return kind(n_splits=settings.data.cv_folds, shuffle=True, random_state=settings.data.seed)


def cross_validated(pipeline: Pipeline, split: Split, settings: Settings) -> dict[str, float]:
    """Mean and spread over the folds of every metric the model supports."""

    def scorer(model, features, target) -> dict[str, float]:
        return evaluate(model, features, target, settings.task)

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
    return scores


def scores_line(metric: str, scores: dict[str, float]) -> str:
    """The validation score that ranks a run, then its holdout score, for the record."""
    return (
        f"{validation_metric(metric)} = {scores[validation_metric(metric)]:.4f} "
        f"+/- {scores[spread_metric(metric)]:.4f} "
        f"(holdout {metric} = {scores[metric]:.4f}, kept for promote)"
    )
