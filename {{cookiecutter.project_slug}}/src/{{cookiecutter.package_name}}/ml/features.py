"""Which raw columns feed the model, and how: the preprocessing half of the logged pipeline.

The pipeline takes the raw columns (strings, floats with missing values), so a served request
looks like a row of the CSV. Numbers are imputed with the median and scaled; text, category and
bool columns (and those listed in `[data] categorical`) are imputed with the most frequent value
and one-hot encoded, with rare and unseen categories folded into one "infrequent" column so the
width stays bounded and a new category never breaks a prediction.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ..settings import DataSettings

MIN_CATEGORY_ROWS = 5
"""A category seen in fewer training rows joins the "infrequent" column."""


@dataclass(frozen=True)
class Columns:
    """The feature columns by role, in the frame's order."""

    numeric: tuple[str, ...]
    categorical: tuple[str, ...]

    @property
    def all(self) -> tuple[str, ...]:
        return self.numeric + self.categorical


def is_categorical(column: pd.Series) -> bool:
    """Text, category and bool columns are categories; numbers are not unless listed."""
    return not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def column_roles(features: pd.DataFrame, data: DataSettings) -> Columns:
    listed = set(data.categorical)
    categorical = [c for c in features.columns if c in listed or is_categorical(features[c])]
    numeric = [c for c in features.columns if c not in categorical]
    return Columns(tuple(numeric), tuple(categorical))


def preprocessor(columns: Columns, max_categories: int) -> ColumnTransformer:
    """scikit-learn's own transformers, dense output (small data; every estimator accepts it)."""
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            min_frequency=MIN_CATEGORY_ROWS,
            max_categories=max_categories,
            sparse_output=False,
        ),
    )
    parts = [("numeric", numeric, list(columns.numeric))]
    if columns.categorical:
        parts.append(("categorical", categorical, list(columns.categorical)))
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=0)
