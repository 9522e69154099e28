"""A metric on every bootstrap resample at once, with the values `metrics` gives one by one.

The paired bootstrap scores both models on 1,000 resamples; through scikit-learn that is 2,000
calls whose input checks cost more than the arithmetic (7 s of a promotion's 15 s). For the
metrics whose definition is counts or sums (accuracy, f1, precision, recall, rmse, mae, r2) the
whole matrix of resamples is scored with numpy in one pass, following scikit-learn's rules: the
positive class of two is the larger label, more classes are averaged over the labels present
in each resample, a class never predicted scores 0. `tests/registry/test_resampled_scores.py`
holds them equal to the one-by-one scores. Other metrics (roc_auc, log_loss) are scored one by one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..ml.metrics import Metric, Predictions

Scorer = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""(targets, predicted labels or values, resampled row indices) -> one score per resample."""


def scores(metric: Metric, target, predictions: Predictions, indices: np.ndarray) -> np.ndarray:
    """The metric on each row of `indices` (resamples x rows)."""
    target = np.asarray(target)
    fast = VECTORISED.get(metric.name)
    if fast is not None:
        return fast(target, np.asarray(predictions.labels), indices)
    return np.array([
        metric.score(target[rows], *_parts(predictions.take(rows))) for rows in indices
    ])  # fmt: skip


def _parts(predictions: Predictions) -> tuple:
    return predictions.labels, predictions.proba


def _counts(target: np.ndarray, labels: np.ndarray, indices: np.ndarray):
    """Per resample and class: true positives, predicted and actual counts, and presence."""
    classes, codes = np.unique(np.concatenate([target, labels]), return_inverse=True)
    truth, predicted = codes[: len(target)], codes[len(target) :]
    n, k = indices.shape[0], len(classes)
    offsets = np.arange(n)[:, None] * k

    def count(values: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        flat = (offsets + values[indices]).ravel()
        used = None if weights is None else weights[indices].ravel()
        return np.bincount(flat, weights=used, minlength=n * k).reshape(n, k)

    hits = count(truth, (truth == predicted).astype(float))
    actual, guessed = count(truth), count(predicted)
    return hits, guessed, actual, (actual + guessed) > 0


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """top / bottom, and 0 where bottom is 0 (scikit-learn's zero_division=0)."""
    return np.divide(top, bottom, out=np.zeros_like(top, dtype=float), where=bottom > 0)


def _label_metric(per_class: Callable[..., np.ndarray]) -> Scorer:
    """Binary on the larger of two present labels, else the mean over the present labels."""

    def scored(target: np.ndarray, labels: np.ndarray, indices: np.ndarray) -> np.ndarray:
        hits, guessed, actual, present = _counts(target, labels, indices)
        values = per_class(hits, guessed, actual)
        binary = present.sum(axis=1) <= 2
        largest = present.shape[1] - 1 - np.argmax(present[:, ::-1], axis=1)
        macro = (values * present).sum(axis=1) / present.sum(axis=1)
        return np.where(binary, values[np.arange(len(values)), largest], macro)

    return scored


def _accuracy(target: np.ndarray, labels: np.ndarray, indices: np.ndarray) -> np.ndarray:
    return (target == labels)[indices].mean(axis=1)


def _errors(target: np.ndarray, values: np.ndarray, indices: np.ndarray) -> np.ndarray:
    return (target.astype(float) - values.astype(float))[indices]


def _r2(target: np.ndarray, values: np.ndarray, indices: np.ndarray) -> np.ndarray:
    if indices.shape[1] < 2:  # scikit-learn: not defined on fewer than two rows
        return np.full(len(indices), np.nan)
    truth = target.astype(float)[indices]
    residual = (_errors(target, values, indices) ** 2).sum(axis=1)
    total = ((truth - truth.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    # scikit-learn's force_finite: a constant target scores 1 if predicted exactly, else 0
    perfect = np.where(residual == 0, 1.0, 0.0)
    return np.where(total == 0, perfect, 1 - _ratio(residual, total))


VECTORISED: dict[str, Scorer] = {
    "accuracy": _accuracy,
    "f1": _label_metric(lambda hits, guessed, actual: _ratio(2 * hits, guessed + actual)),
    "precision": _label_metric(lambda hits, guessed, _actual: _ratio(hits, guessed)),
    "recall": _label_metric(lambda hits, _guessed, actual: _ratio(hits, actual)),
    "rmse": lambda t, v, i: np.sqrt((_errors(t, v, i) ** 2).mean(axis=1)),
    "mae": lambda t, v, i: np.abs(_errors(t, v, i)).mean(axis=1),
    "r2": _r2,
}
