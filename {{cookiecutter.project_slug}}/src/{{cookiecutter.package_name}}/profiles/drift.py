"""How far new data is from the reference profile, column by column, and whether that is drift.

Two figures per column, both on the reference's own bins (gaps are a bin of their own, so a
jump in missing values is a shift like any other):

- the chi-square test of homogeneity between the training counts and the new counts
  (`scipy.stats.chi2_contingency`), Bonferroni-corrected over the columns tested together, so
  that batches drawn from the training population raise an alarm at most `alpha` of the time;
- the population stability index, the size of the difference: with enough rows any difference
  is significant, and a tiny one is not worth a retraining.

A column drifts when both say so. Bins too thin for the test's approximation (fewer than five
expected rows in the batch) are pooled first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2_contingency

from .reference import ColumnProfile, reference_counts

MIN_EXPECTED = 5
SMOOTHING = 0.5
"""Added to every bin's count for the index, so an empty bin gives a large, finite value."""


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    psi: float
    p_value: float
    """Bonferroni-corrected over the columns of the comparison."""
    missing_before: float
    missing_now: float
    other_now: float | None
    """Share of the batch outside the training's categories (None for numbers)."""
    drifted: bool


def compared(profiles: dict[str, ColumnProfile], counts: dict[str, np.ndarray], alpha: float,
             min_psi: float) -> list[ColumnDrift]:  # fmt: skip
    """Every column of `counts`, the drifted first, then by the index, largest first."""
    tests = len(counts)
    found = []
    for name, now in counts.items():
        before = reference_counts(profiles[name])
        psi, p_value = stability_index(before, now), homogeneity_p(before, now)
        adjusted = min(1.0, p_value * tests)
        found.append(ColumnDrift(
            name, psi, adjusted, _share(before[-1], before), _share(now[-1], now),
            _share(now[-2], now) if profiles[name]["kind"] == "category" else None,
            adjusted < alpha and psi >= min_psi,
        ))  # fmt: skip
    return sorted(found, key=lambda drift: (not drift.drifted, -drift.psi))


def stability_index(before: np.ndarray, now: np.ndarray) -> float:
    """sum((q - p) * ln(q / p)) over the bins, p and q the smoothed shares."""
    before, now = _pooled(before, now)
    p = (before + SMOOTHING) / (before.sum() + SMOOTHING * len(before))
    q = (now + SMOOTHING) / (now.sum() + SMOOTHING * len(now))
    return float(np.sum((q - p) * np.log(q / p)))


def homogeneity_p(before: np.ndarray, now: np.ndarray) -> float:
    before, now = _pooled(before, now)
    table = np.vstack([before, now])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or min(table.sum(axis=1)) == 0:
        return 1.0
    return float(chi2_contingency(table, correction=False).pvalue)


def _pooled(before: np.ndarray, now: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bins where the batch would expect fewer than MIN_EXPECTED rows, merged into one."""
    total_before, total_now = before.sum(), now.sum()
    if total_before == 0 or total_now == 0:
        return before.astype(float), now.astype(float)
    expected = (before + now) / (total_before + total_now) * min(total_before, total_now)
    thin = expected < MIN_EXPECTED
    if thin.sum() < 2:
        return before.astype(float), now.astype(float)
    keep = ~thin
    return (np.append(before[keep], before[thin].sum()).astype(float),
            np.append(now[keep], now[thin].sum()).astype(float))  # fmt: skip


def _share(part: float, counts: np.ndarray) -> float:
    total = counts.sum()
    return float(part / total) if total else 0.0
