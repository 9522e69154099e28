"""The paired bootstrap: no improvement from identical models, a clear one from a clearly
better model, the same answer for the same seed, and the metric's direction respected."""

from __future__ import annotations

import numpy as np
import pytest

from {{ cookiecutter.package_name }}.ml.metrics import METRICS, Predictions
from {{ cookiecutter.package_name }}.registry.paired_bootstrap import paired_bootstrap, resampled_rows

RNG = np.random.default_rng(0)
TRUTH = RNG.integers(0, 2, 200)


def labels_with_errors(share: float, seed: int) -> Predictions:
    rng = np.random.default_rng(seed)
    wrong = rng.random(len(TRUTH)) < share
    return Predictions(np.where(wrong, 1 - TRUTH, TRUTH))


def bootstrap(new, old, metric="accuracy", truth=TRUTH, seed=1, stratified=True):
    return paired_bootstrap(
        METRICS[metric], truth, new, old,
        confidence=0.95, resamples=500, seed=seed, stratified=stratified,
    )  # fmt: skip


def test_identical_models_show_no_improvement():
    same = labels_with_errors(0.2, seed=3)
    result = bootstrap(same, same)
    assert result.point == 0 and result.lower_bound == 0


def test_a_clearly_better_model_has_a_positive_lower_bound():
    result = bootstrap(labels_with_errors(0.05, seed=4), labels_with_errors(0.30, seed=5))
    assert result.point > 0.15 and result.lower_bound > 0.1


def test_a_lead_within_the_noise_has_a_negative_lower_bound():
    champion = labels_with_errors(0.2, seed=6)
    flipped = champion.labels.copy()
    flipped[np.flatnonzero(flipped != TRUTH)[:1]] ^= 1  # one more row right
    result = bootstrap(Predictions(flipped), champion)
    assert result.point > 0 and result.lower_bound <= 0


def test_the_same_seed_gives_the_same_bound():
    new, old = labels_with_errors(0.1, seed=7), labels_with_errors(0.15, seed=8)
    assert bootstrap(new, old, seed=5) == bootstrap(new, old, seed=5)


def test_lower_is_better_metrics_count_a_drop_as_an_improvement():
    truth = RNG.normal(size=150)
    close, far = Predictions(truth + 0.1), Predictions(truth + 1.0)
    result = bootstrap(close, far, metric="rmse", truth=truth, stratified=False)
    assert result.point == pytest.approx(0.9) and result.lower_bound > 0.8


def test_stratified_resamples_keep_the_class_balance():
    strata = np.array([0] * 90 + [1] * 10)
    rows = resampled_rows(len(strata), resamples=50, seed=0, strata=strata)
    assert rows.shape == (50, 100)
    assert all((strata[sample] == 1).sum() == 10 for sample in rows)
