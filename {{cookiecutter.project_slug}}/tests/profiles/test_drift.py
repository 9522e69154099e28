"""Drift is named only when the new rows differ from training both significantly and by enough
to matter; a batch from the training population stays quiet."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.profiles.drift import compared
from {{ cookiecutter.package_name }}.profiles.reference import binned, column_profile

ALPHA, MIN_PSI = 0.01, 0.1


def population(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "spend": rng.normal(50, 15, rows),
        "region": rng.choice(["east", "west", "north"], rows, p=[0.5, 0.3, 0.2]),
        "tenure": rng.gamma(2.0, 12.0, rows),
    })  # fmt: skip


TRAINING = population(8_000, seed=0)
PROFILES = {
    "spend": column_profile(TRAINING["spend"], True, 50),
    "region": column_profile(TRAINING["region"], False, 50),
    "tenure": column_profile(TRAINING["tenure"], True, 50),
}


def drift_of(batch: pd.DataFrame):
    counts = {name: binned(profile, batch[name]) for name, profile in PROFILES.items()}
    return compared(PROFILES, counts, ALPHA, MIN_PSI)


def test_batches_from_the_training_population_raise_no_alarm():
    alarms = sum(any(d.drifted for d in drift_of(population(500, seed))) for seed in range(1, 41))
    assert alarms <= 1, "at most alpha of the batches, and 40 batches at alpha 0.01"


SHIFTS = {
    "a number moved by one standard deviation": (
        lambda b: b.assign(spend=b["spend"] + 15), "spend"),
    "another mix of categories": (
        lambda b: b.assign(region=np.where(np.arange(len(b)) % 2, "north", b["region"])), "region"),
    "gaps where there were none": (
        lambda b: b.assign(tenure=b["tenure"].where(np.arange(len(b)) % 5 != 0)), "tenure"),
}  # fmt: skip


@pytest.mark.parametrize("shift, column", SHIFTS.values(), ids=SHIFTS)
def test_a_shift_is_named_first_and_alone(shift, column):
    found = drift_of(shift(population(2_000, seed=99)))
    assert found[0].column == column and found[0].drifted
    assert not any(d.drifted for d in found[1:])


def test_a_tiny_difference_in_a_huge_batch_is_significant_but_not_drift():
    batch = population(200_000, seed=7).assign(spend=lambda b: b["spend"] + 2.0)
    [spend] = [d for d in drift_of(batch) if d.column == "spend"]
    assert spend.p_value < ALPHA and spend.psi < MIN_PSI and not spend.drifted


def test_the_report_shows_gaps_and_categories_outside_training():
    batch = population(1_000, seed=5)
    batch.loc[:99, "region"] = "atlantis"
    batch.loc[:199, "spend"] = np.nan
    found = {d.column: d for d in drift_of(batch)}
    assert found["region"].other_now == pytest.approx(0.1)
    assert found["spend"].missing_before == 0 and found["spend"].missing_now == pytest.approx(0.2)
    assert found["spend"].other_now is None
