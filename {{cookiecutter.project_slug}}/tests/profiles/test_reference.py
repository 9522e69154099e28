"""The reference profile: small, JSON-safe, and the same layout for training and new rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from {{ cookiecutter.package_name }}.errors import BadInput
from {{ cookiecutter.package_name }}.profiles.reference import (
    PREDICTION,
    binned,
    column_profile,
    readable,
    reference_counts,
    reference_profile,
)


def training_part(rows: int = 5_000) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({
        "spend": rng.normal(50, 15, rows),
        "visits": rng.poisson(3, rows).astype(float),
        "region": rng.choice(["east", "west", "north"], rows),
        "store": rng.integers(0, 400, rows).astype(float),
    })  # fmt: skip
    frame.loc[::10, "spend"] = np.nan
    return frame


def test_the_profile_is_kilobytes_of_json_whatever_the_rows():
    frame = training_part()
    profile = reference_profile(frame, ["spend", "visits"], np.zeros(len(frame)), "classification",
                                max_categories=50)  # fmt: skip
    text = json.dumps(profile)
    assert len(text) < 4_000, "the 400 store numbers are capped at max_categories"
    assert profile["rows"] == 5_000 and profile["columns"]["spend"]["missing"] == 500
    assert len(profile["columns"]["store"]["values"]) == 50
    assert profile["columns"]["store"]["other"] > 0


def test_a_column_named_like_the_predictions_is_refused():
    frame = training_part().rename(columns={"visits": PREDICTION})
    with pytest.raises(BadInput, match=r"column '\(prediction\)' has the name mlops monitor"):
        reference_profile(frame, ["spend"], np.zeros(len(frame)), "classification", 50)


def test_training_rows_counted_again_give_the_reference_counts():
    frame = training_part()
    for name, numeric in [("spend", True), ("visits", True), ("region", False), ("store", False)]:
        profile = column_profile(frame[name], numeric, max_categories=50)
        assert (binned(profile, frame[name]) == reference_counts(profile)).all(), name


def test_a_category_is_one_category_however_it_is_spelled():
    profile = column_profile(pd.Series([1, 2, 2, None]), numeric=False, max_categories=10)
    as_read_with_a_gap = pd.Series([1.0, 2.0, np.nan, "2"], dtype=object)
    assert binned(profile, as_read_with_a_gap).tolist() == [2, 1, 0, 1]  # "2", "1", other, gaps


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.floats(-1e6, 1e6), st.none()), min_size=1, max_size=60),
    st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.none()), max_size=60),
)
def test_every_new_value_lands_in_exactly_one_bin(training, new):
    profile = column_profile(pd.Series(training, dtype=float), numeric=True, max_categories=10)
    counts = binned(profile, pd.Series(new, dtype=float))
    assert counts.sum() == len(new) and len(counts) == len(reference_counts(profile))


def test_only_a_profile_of_this_layout_is_read():
    frame = training_part(500)
    good = reference_profile(frame, ["spend", "visits"], np.zeros(len(frame)), "classification",
                             max_categories=50)  # fmt: skip
    assert readable(json.loads(json.dumps(good))) == good
    crafted = json.loads(json.dumps(good))
    crafted["columns"]["spend"]["edges"] = [3.0, 1.0]  # unsorted, and one edge short
    assert readable(crafted) is None
    for broken in (None, [], {"format": 99}, {**good, "prediction": "x"}):
        assert readable(broken) is None
