"""Decay: the champion's primary score on new rows that carry the target, with a bootstrap
interval, against the holdout score promote measured when it promoted the version.

Only the interval's far end raises the alarm: "the score has fallen by more than `max_decay`"
must hold at the configured confidence, so a small or noisy batch does not cry wolf. Resamples
are scored with the same vectorised metrics as promote's paired bootstrap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import BadInput
from ..ml.metrics import METRICS, Predictions
from ..profiles.reference import labels
from ..registry.resampled_scores import scores
from ..settings import Settings

SEED = 20_240_601
CELLS_PER_BLOCK = 5_000_000
"""Resampled row indices held at once (40 MB): a million-row batch is resampled in blocks."""


@dataclass(frozen=True)
class Decay:
    metric: str
    before: float
    """The champion's holdout score, as recorded on its version."""
    now: float
    low: float
    high: float
    rows: int
    confidence: float
    decayed: bool

    def line(self) -> str:
        level = round(100 * self.confidence)
        return (f"{self.metric} {self.before:.4f} -> {self.now:.4f} on {self.rows:,} rows "
                f"({level}% interval {self.low:.4f} to {self.high:.4f})")  # fmt: skip


def check_labels(target, classes, column: str) -> None:
    """Outcomes none of which is a class the model learned are spelt another way ("Yes" for
    "yes"), not a model that got every row wrong: bad input, not decay. One known class is
    enough to score (a class the model never learned then counts as an error)."""
    if classes is None or len(target) == 0:
        return
    learned = set(labels(pd.Series(np.asarray(classes))))
    if not set(labels(pd.Series(np.asarray(target)))) & learned:
        shown = ", ".join(repr(c) for c in sorted(learned)[:5])
        raise BadInput(
            f"column {column!r} holds none of the classes the model learned ({shown}): spell "
            "them as in the training data, or drop the column to check drift alone"
        )


def measured(target, predictions: Predictions, before: float, settings: Settings) -> Decay:
    metric = METRICS[settings.metric.primary]
    target = np.asarray(target)
    now = float(metric.score(target, predictions.labels, predictions.proba))
    resampled = _resampled(metric, target, predictions, settings.monitor.bootstrap_resamples)
    tail = (1 - settings.monitor.confidence) / 2
    low, high = (float(v) for v in np.quantile(resampled, [tail, 1 - tail]))
    limit = settings.monitor.max_decay
    decayed = high < before - limit if metric.greater_is_better else low > before + limit
    return Decay(metric.name, before, now, low, high, len(target), settings.monitor.confidence,
                 decayed)  # fmt: skip


def _resampled(metric, target: np.ndarray, predictions: Predictions, resamples: int):
    rng = np.random.default_rng(SEED)
    rows = len(target)
    block = max(1, CELLS_PER_BLOCK // max(rows, 1))
    found = []
    for start in range(0, resamples, block):
        indices = rng.integers(0, rows, size=(min(block, resamples - start), rows))
        found.append(scores(metric, target, predictions, indices))
    return np.concatenate(found)
