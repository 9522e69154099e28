"""The project's own evaluation code: the one definition of every metric.

Training logs these names and promote re-scores champion and challenger with the same functions,
so a metric means the same thing everywhere (MLflow's evaluator names them its own way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Task = Literal["classification", "regression"]


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


def _average(y_true) -> str:
    return "binary" if len(np.unique(y_true)) <= 2 else "macro"


def _roc_auc(y_true, _pred, proba) -> float:
    if proba.shape[1] == 2:
        return skm.roc_auc_score(y_true, proba[:, 1])
    return skm.roc_auc_score(y_true, proba, multi_class="ovr")


_METRICS = [
    Metric("accuracy", "classification", True, lambda y, p, _: skm.accuracy_score(y, p)),
    Metric("f1", "classification", True, lambda y, p, _: skm.f1_score(y, p, average=_average(y))),
    Metric(
        "precision",
        "classification",
        True,
        lambda y, p, _: skm.precision_score(y, p, average=_average(y), zero_division=0),
    ),
    Metric(
        "recall",
        "classification",
        True,
        lambda y, p, _: skm.recall_score(y, p, average=_average(y), zero_division=0),
    ),
    Metric("roc_auc", "classification", True, _roc_auc),
    Metric("log_loss", "classification", False, lambda y, _, proba: skm.log_loss(y, proba)),
    Metric("rmse", "regression", False, lambda y, p, _: skm.root_mean_squared_error(y, p)),
    Metric("mae", "regression", False, lambda y, p, _: skm.mean_absolute_error(y, p)),
    Metric("r2", "regression", True, lambda y, p, _: skm.r2_score(y, p)),
]
METRICS: dict[str, Metric] = {metric.name: metric for metric in _METRICS}


def evaluate(model, features, target, task: Task) -> dict[str, float]:
    """Every metric of the task that the model supports, as plain floats."""
    predictions = model.predict(features)
    proba = model.predict_proba(features) if hasattr(model, "predict_proba") else None
    scores = {}
    for metric in METRICS.values():
        if metric.task != task or (metric.needs_proba and proba is None):
            continue
        scores[metric.name] = float(metric.score(target, predictions, proba))
    return scores


def is_better(candidate: float, reference: float, greater_is_better: bool) -> bool:
    return candidate > reference if greater_is_better else candidate < reference
