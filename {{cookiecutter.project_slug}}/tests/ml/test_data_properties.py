"""Property: whatever CSV a team brings, `train` either fits it or refuses it with one line of
bad input (exit 2). Never a scikit-learn traceback, never exit 4.

Hypothesis draws the shapes that break naive pipelines: few rows, empty or constant columns,
text, booleans, dates, ids, missing values in features and target, one class, rare classes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from {{ cookiecutter.package_name }}.errors import BadInput
from {{ cookiecutter.package_name }}.ml.data import load_split
from {{ cookiecutter.package_name }}.ml.training import fit_candidate

TARGET = "y"


@st.composite
def columns(draw, rows: int) -> list:
    kind = draw(st.sampled_from(  # usable kinds first: hypothesis shrinks towards them
        ["float", "int", "text", "bool", "float", "int", "text", "empty", "constant", "date", "id"]
    ))  # fmt: skip
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    values = {
        "float": lambda: rng.normal(size=rows).round(3).tolist(),
        "int": lambda: rng.integers(0, 5, rows).tolist(),
        "text": lambda: rng.choice(["a", "b", "c"], rows).tolist(),
        "bool": lambda: rng.choice([True, False], rows).tolist(),
        "empty": lambda: [None] * rows,
        "constant": lambda: ["same"] * rows,
        "date": lambda: [f"2024-01-{1 + i % 28:02d}" for i in range(rows)],
        "id": lambda: [f"id{i}" for i in range(rows)],
    }[kind]()
    if rows and draw(st.booleans()):
        for index in draw(st.lists(st.integers(0, rows - 1), max_size=rows // 3 + 1)):
            values[index] = None
    return values


@st.composite
def team_csvs(draw, task: str) -> pd.DataFrame:
    """Classification targets are drawn as class sizes, so rare and single classes are common."""
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if task == "classification":
        labels = draw(st.sampled_from([["a", "b", "c"], [0, 1], [True, False]]))
        sizes = draw(st.lists(st.integers(0, 40), min_size=1, max_size=len(labels)))
        labels = labels[: len(sizes)]
        target = [label for label, size in zip(labels, sizes, strict=False) for _ in range(size)]
        rng.shuffle(target)
    else:
        target = rng.normal(size=draw(st.integers(0, 80))).round(3).tolist()
    rows = len(target)
    if rows and draw(st.booleans()):
        target[draw(st.integers(0, rows - 1))] = None
    width = draw(st.integers(1, 3))
    frame = pd.DataFrame({f"c{i}": draw(columns(rows)) for i in range(width)})
    frame[TARGET] = target
    return frame


@pytest.fixture
def fit_csv(platform_settings, tmp_path_factory):
    def fit(frame: pd.DataFrame) -> None:
        path = tmp_path_factory.mktemp("csv") / "data.csv"
        frame.to_csv(path, index=False)
        chosen = platform_settings.replace("data", source=str(path), target=TARGET, drop=[])
        try:
            split = load_split(chosen)
            fit_candidate(chosen, split, {})
        except BadInput as refusal:
            message = str(refusal)
            assert message and "\n" not in message

    return fit


@given(data=st.data())
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_csv_is_fitted_or_refused_in_one_line(platform_settings, fit_csv, data):
    fit_csv(data.draw(team_csvs(platform_settings.task)))
