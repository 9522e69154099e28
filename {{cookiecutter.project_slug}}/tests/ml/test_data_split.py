"""Properties of the repeatable split (`data.load_split`) on a table that grows between runs:
appended rows never move an old row between training and holdout, row order never matters, the
holdout keeps its share and every class, and named ids keep an edited row in its part."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.package_name }}.ml.data import load_split

TARGET = "y"
QUICK = settings(
    max_examples=15, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)  # fmt: skip


def table(seed: int, rows: int, start: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "id": [f"r{start + i}" for i in range(rows)],
        "x": rng.normal(size=rows).round(4),
        "n": rng.integers(0, 9, rows),
        "colour": rng.choice(["red", "blue", "green"], rows),
        TARGET: rng.permutation(np.resize([0, 1, 1], rows)),  # a third of each table is 0
    })  # fmt: skip


@pytest.fixture
def split_of(platform_settings, tmp_path_factory):
    def split(frame: pd.DataFrame, **data):
        path = tmp_path_factory.mktemp("csv") / "table.csv"
        frame.to_csv(path, index=False)
        values = {"source": str(path), "target": TARGET, "drop": ["id"], "id": [], **data}
        if values["id"]:
            values["drop"] = []
        classifying = platform_settings.model_copy(update={"task": "classification"})
        return load_split(classifying.replace("data", **values))

    return split


def keys(split) -> tuple[set[int], set[int]]:
    return set(split.train_keys.tolist()), set(split.holdout_keys.tolist())


@QUICK
@given(seed=st.integers(0, 2**16), rows=st.integers(40, 300), more=st.integers(1, 150))
def test_appended_rows_never_move_an_old_row(split_of, seed, rows, more):
    old = table(seed, rows)
    grown = pd.concat([old, table(seed + 1, more, start=rows)], ignore_index=True)
    (old_train, old_holdout), (new_train, new_holdout) = keys(split_of(old)), keys(split_of(grown))
    assert old_train <= new_train, "a row a model trained on never reaches the holdout"
    threshold = int(0.25 * 2**64)
    assert {k for k in old_holdout if k < threshold} <= new_holdout, "the holdout only grows"


@QUICK
@given(seed=st.integers(0, 2**16), rows=st.integers(60, 200), shuffle=st.integers(0, 2**16))
def test_row_order_never_changes_the_split_or_the_folds_input(split_of, seed, rows, shuffle):
    frame = table(seed, rows)
    shuffled = frame.sample(frac=1, random_state=shuffle).reset_index(drop=True)
    first, second = split_of(frame), split_of(shuffled)
    assert keys(first) == keys(second)
    pd.testing.assert_frame_equal(
        first.x_train.reset_index(drop=True), second.x_train.reset_index(drop=True)
    )
    pd.testing.assert_series_equal(
        first.y_test.reset_index(drop=True), second.y_test.reset_index(drop=True)
    )


@QUICK
@given(seed=st.integers(0, 2**16), rows=st.integers(400, 1000))
def test_the_holdout_keeps_its_share_and_every_class(split_of, seed, rows):
    frame = table(seed, rows)
    frame.loc[frame.index[:8], TARGET] = 2  # a rare class, as small as the checks allow
    split = split_of(frame)
    assert abs(len(split.x_test) / rows - 0.25) < 0.06
    assert set(split.y_test) == set(split.y_train) == {0, 1, 2}


def test_named_ids_keep_an_edited_row_in_its_part(split_of):
    frame = table(7, 200)
    before = split_of(frame, id=["id"])
    edited = frame.copy()
    edited["x"] = edited["x"] + 1.0  # every row corrected in place
    after = split_of(edited, id=["id"])
    assert keys(before) == keys(after)
    assert "id" not in after.x_train.columns, "an id is never a feature"


def test_a_gap_that_turns_ints_into_floats_keeps_every_row_in_its_part(split_of):
    frame = table(3, 120)
    grown = pd.concat([frame, table(4, 1, start=120).assign(n=[None])], ignore_index=True)
    old_train, _ = keys(split_of(frame))
    new_train, _ = keys(split_of(grown))
    assert old_train <= new_train


def test_another_seed_or_share_is_another_split(split_of):
    frame = table(5, 300)
    base = split_of(frame)
    assert keys(split_of(frame, seed=7)) != keys(base)
    assert split_of(frame, seed=7).description != base.description
    assert split_of(frame, test_size=0.3).description != base.description
