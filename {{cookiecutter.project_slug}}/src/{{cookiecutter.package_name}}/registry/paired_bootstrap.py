"""How sure is an improvement? A seeded paired bootstrap over the holdout rows.

Champion and challenger are scored on the same rows, so their scores are correlated; resampling
rows (the same rows for both: "paired") and re-scoring both gives the distribution of the
difference, and its lower quantile is a one-sided lower confidence bound of the improvement.
A gate on that bound does not promote a challenger whose lead is within the noise of a small
holdout. Classification resamples within each class, so every resample keeps the holdout's class
balance (and metrics such as roc_auc stay defined).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..ml.metrics import Metric, Predictions
from .resampled_scores import scores


@dataclass(frozen=True)
class Improvement:
    """Of the challenger over the champion, in the metric's "better" direction (positive =
    better, whichever way the metric points)."""

    point: float
    lower_bound: float
    confidence: float
    resamples: int
    rows: int
    gains: np.ndarray | None = field(default=None, repr=False, compare=False)
    """The improvement on every resample: what the decision picture draws."""

    def text(self, metric: str) -> str:
        return (
            f"improvement in {metric}: {self.point:+.4f}; {round(100 * self.confidence)}% lower "
            f"bound {self.lower_bound:+.4f} (paired bootstrap, {self.resamples} resamples of "
            f"{self.rows} holdout rows)"
        )


def resampled_rows(
    rows: int, resamples: int, seed: int, strata: np.ndarray | None = None
) -> np.ndarray:
    """`resamples` x `rows` row indices drawn with replacement (within each stratum)."""
    rng = np.random.default_rng(seed)
    if strata is None:
        return rng.integers(0, rows, size=(resamples, rows))
    groups = [np.flatnonzero(strata == value) for value in np.unique(strata)]
    draws = [group[rng.integers(0, len(group), size=(resamples, len(group)))] for group in groups]
    return np.concatenate(draws, axis=1)


def paired_bootstrap(
    metric: Metric,
    target,
    challenger: Predictions,
    champion: Predictions,
    *,
    confidence: float,
    resamples: int,
    seed: int,
    stratified: bool,
) -> Improvement:
    target = np.asarray(target)
    sign = 1.0 if metric.greater_is_better else -1.0
    every_row = np.arange(len(target))[None, :]
    indices = resampled_rows(len(target), resamples, seed, target if stratified else None)

    def gains(rows: np.ndarray) -> np.ndarray:
        new = scores(metric, target, challenger, rows)
        old = scores(metric, target, champion, rows)
        return sign * (new - old)

    resampled = gains(indices)
    return Improvement(
        point=float(gains(every_row)[0]),
        lower_bound=float(np.quantile(resampled, 1 - confidence)),
        confidence=confidence,
        resamples=resamples,
        rows=len(target),
        gains=resampled,
    )
