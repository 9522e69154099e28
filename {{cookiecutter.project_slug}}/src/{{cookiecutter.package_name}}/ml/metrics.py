"""The project's own evaluation code: the one definition of every metric.

Training logs these names and promote re-scores champion and challenger with the same functions,
so a metric means the same thing everywhere (MLflow's evaluator names them its own way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import choices
from ..choices import Task


@dataclass(frozen=True)
class Metric:
    name: str
    task: Task
    greater_is_better: bool
    score: Callable[[Any, Any, Any], float]
    """Called as score(y_true, y_pred, y_proba); y_proba is None when the model has none."""

    @property
    def needs_proba(self) -> bool:
        return self.name in {"roc_auc", "log_loss"}


class _LazySklearnMetrics:
    """`sklearn.metrics`, imported on first use: settings validation (and so `mlops --help`,
    `status`, ...) needs the metric table, not scikit-learn's ~3 s import."""

    def __getattr__(self, name: str):
        from sklearn import metrics

        return getattr(metrics, name)


skm = _LazySklearnMetrics()


def _averaged(score: Callable[..., float], **options) -> Callable[[Any, Any, Any], float]:
    """A label metric for two classes or more. With two, the positive class is the larger
    label (1 of 0/1, True, "yes" of "no"/"yes"), as for roc_auc and `predict_proba`'s second
    column; with more, the unweighted mean over classes."""

    def scored(y_true, y_pred, _proba) -> float:
        labels = np.unique(np.concatenate([np.asarray(y_true), np.asarray(y_pred)]))
        if len(labels) <= 2:
            return score(y_true, y_pred, average="binary", pos_label=labels[-1], **options)
        return score(y_true, y_pred, average="macro", **options)

    return scored


def _roc_auc(y_true, _pred, proba) -> float:
    if proba.shape[1] == 2:
        return skm.roc_auc_score(y_true, proba[:, 1])
    return skm.roc_auc_score(y_true, proba, multi_class="ovr")


SCORES: dict[str, Callable[[Any, Any, Any], float]] = {
    # name: score(y_true, y_pred, y_proba); its task, range and direction are in `choices.json`
    "accuracy": lambda y, p, _: skm.accuracy_score(y, p),
    "f1": _averaged(lambda *a, **k: skm.f1_score(*a, **k)),
    "precision": _averaged(lambda *a, **k: skm.precision_score(*a, **k), zero_division=0),
    "recall": _averaged(lambda *a, **k: skm.recall_score(*a, **k), zero_division=0),
    "roc_auc": _roc_auc,
    "log_loss": lambda y, _, proba: skm.log_loss(y, proba),
    "rmse": lambda y, p, _: skm.root_mean_squared_error(y, p),
    "mae": lambda y, p, _: skm.mean_absolute_error(y, p),
    "r2": lambda y, p, _: skm.r2_score(y, p),
}
METRICS: dict[str, Metric] = {
    name: Metric(name, task, choices.GREATER_IS_BETTER[name], SCORES[name])
    for name, task in choices.TASK_OF.items()
}


@dataclass(frozen=True)
class Predictions:
    """What a model says about some rows: labels (or values) and, when it has them,
    class probabilities. Scored once in full and many times resampled by `paired_bootstrap`."""

    labels: Any
    proba: Any | None = None

    def take(self, rows) -> Predictions:
        return Predictions(self.labels[rows], self.proba[rows] if self.proba is not None else None)


def predict(model, features) -> Predictions:
    proba = model.predict_proba(features) if hasattr(model, "predict_proba") else None
    return Predictions(np.asarray(model.predict(features)), proba)


def supported(task: Task, predictions: Predictions) -> list[Metric]:
    """The task's metrics that these predictions can be scored on."""
    return [
        metric
        for metric in METRICS.values()
        if metric.task == task and not (metric.needs_proba and predictions.proba is None)
    ]


def score(predictions: Predictions, target, task: Task) -> dict[str, float]:
    """Every metric of the task that the predictions support, as plain floats."""
    return {
        metric.name: float(metric.score(target, predictions.labels, predictions.proba))
        for metric in supported(task, predictions)
    }


def evaluate(model, features, target, task: Task) -> dict[str, float]:
    """Every metric of the task that the model supports, as plain floats."""
    return score(predict(model, features), target, task)


def is_better(candidate: float, reference: float, greater_is_better: bool) -> bool:
    return candidate > reference if greater_is_better else candidate < reference
