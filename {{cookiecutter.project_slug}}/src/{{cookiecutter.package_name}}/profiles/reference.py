"""The reference profile: per column, counts in bins, in kilobytes, inside the model's MLmodel.

Numbers are counted in the training part's deciles, categories by value (the most frequent
`max_categories`, the rest as "other"), and every column counts its gaps. The out-of-fold
predictions are profiled the same way, so a drift of what the model says is measured against
what it said about rows it never saw. Counts, not shares: a chi-square test of new counts against
them is then a two-sample test, exact about how much the training part itself could vary.

The profile travels in the MLmodel's `metadata` (no extra upload, no extra request) and so is
covered by the digest pinned at registration: nobody can edit what a model is compared with.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..errors import BadInput

PROFILE_KEY = "reference_profile"
FORMAT = 1
DECILES = np.linspace(0, 1, 11)[1:-1]
PREDICTION = "(prediction)"
"""The name the predictions go by in a comparison; a feature column of that name is refused."""

ColumnProfile = dict[str, Any]


def reference_profile(features: pd.DataFrame, numeric: Iterable[str], predictions,
                      task: str, max_categories: int) -> dict[str, Any]:  # fmt: skip
    """The profile of the training part and of its out-of-fold predictions."""
    if PREDICTION in features.columns:
        raise BadInput(f"column {PREDICTION!r} has the name mlops monitor gives the model's "
                       "predictions: rename it in the table")  # fmt: skip
    numbers = set(numeric)
    return {
        "format": FORMAT,
        "rows": len(features),
        "columns": {
            str(name): column_profile(features[name], name in numbers, max_categories)
            for name in features.columns
        },
        "prediction": column_profile(
            pd.Series(np.asarray(predictions)), task == "regression", max_categories
        ),
    }


def column_profile(values: pd.Series, numeric: bool, max_categories: int) -> ColumnProfile:
    present = values.dropna()
    missing = int(len(values) - len(present))
    if numeric:
        numbers = present.to_numpy(dtype=float)
        edges = np.unique(np.quantile(numbers, DECILES)) if len(numbers) else np.array([])
        counts = np.bincount(np.searchsorted(edges, numbers, side="left"),
                             minlength=len(edges) + 1)  # fmt: skip
        return {"kind": "number", "edges": edges.tolist(), "counts": counts.tolist(),
                "missing": missing}  # fmt: skip
    frequent = labels(present).value_counts().head(max_categories)
    return {"kind": "category", "values": frequent.index.tolist(),
            "counts": frequent.astype(int).tolist(), "other": int(len(present) - frequent.sum()),
            "missing": missing}  # fmt: skip


def readable(profile: object) -> dict[str, Any] | None:
    """The profile if it has the layout this module writes, else None. It was written by
    whoever trained the model (then pinned): monitor must not trust its shape blindly."""
    if not isinstance(profile, dict) or profile.get("format") != FORMAT:
        return None
    columns = profile.get("columns")
    if not isinstance(columns, dict):
        return None
    every = [*columns.values(), profile.get("prediction")]
    return profile if all(_readable_column(column) for column in every) else None


def _readable_column(column: object) -> bool:
    if not isinstance(column, dict) or not _count(column.get("missing")):
        return False
    counts = column.get("counts")
    if not isinstance(counts, list) or not all(_count(c) for c in counts):
        return False
    if column.get("kind") == "number":
        edges = column.get("edges")
        return (isinstance(edges, list) and len(counts) == len(edges) + 1
                and all(isinstance(e, (int, float)) for e in edges)
                and edges == sorted(edges))  # fmt: skip
    values = column.get("values")
    return (column.get("kind") == "category" and isinstance(values, list)
            and len(values) == len(counts) and _count(column.get("other")))  # fmt: skip


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def labels(values: pd.Series) -> pd.Series:
    """Categories as text, one spelling per value: 1, 1.0 and "1" are the same category (a
    column read from CSV with a gap turns its integers into floats)."""

    def spelled(value: object) -> str:
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    return values.map(spelled)


def binned(profile: ColumnProfile, values: pd.Series) -> np.ndarray:
    """New values counted in the profile's layout: its bins (or categories, then "other"), then
    the gaps: the same vector `reference_counts` gives for the training part."""
    present = values.dropna()
    missing = len(values) - len(present)
    if profile["kind"] == "number":
        edges = np.asarray(profile["edges"], dtype=float)
        numbers = pd.to_numeric(present, errors="coerce").to_numpy(dtype=float)
        counts = np.bincount(np.searchsorted(edges, numbers, side="left"),
                             minlength=len(edges) + 1)  # fmt: skip
        return np.append(counts, missing)
    index = {value: i for i, value in enumerate(profile["values"])}
    codes = labels(present).map(index).fillna(len(index)).to_numpy(dtype=int)
    return np.append(np.bincount(codes, minlength=len(index) + 1), missing)


def reference_counts(profile: ColumnProfile) -> np.ndarray:
    if profile["kind"] == "number":
        return np.array([*profile["counts"], profile["missing"]])
    return np.array([*profile["counts"], profile["other"], profile["missing"]])
