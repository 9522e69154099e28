"""Check the data before anything is fitted, and say in one line what is wrong.

A scikit-learn error deep inside a fit ("could not convert string to float", "Input X contains
NaN") names neither the column nor the fix; these checks do, and they run first in `train`,
`tune`, `promote`, `serve` and `doctor`.
"""

from __future__ import annotations

import math

import pandas as pd

from .errors import BadInput
from .features import is_categorical
from .settings import DataSettings, Settings

MIN_ROWS = 20
"""Below this there is no holdout and no cross-validation worth the name."""
ID_LIKE_SHARE = 0.9
DATE_SAMPLE = 50


def check_frame(
    frame: pd.DataFrame, settings: Settings, name: str, check_features: bool = True
) -> None:
    """Every check, in the order a user would fix them; the first failure is raised.

    The bundled datasets are curated (digits has constant border pixels on purpose), so only
    their target is checked.
    """
    data = settings.data
    _check_columns(frame, data, name)
    _check_rows(frame, data, name)
    _check_target(frame[data.target], settings)
    if check_features:
        for column in frame.columns.drop([data.target, *data.drop, *data.id]):
            _check_feature(frame[column], data)


def _check_columns(frame: pd.DataFrame, data: DataSettings, name: str) -> None:
    if data.target not in frame.columns:
        raise BadInput(f"[data] target: column {data.target!r} is not in {name}")
    for key in ("drop", "categorical", "id"):
        unknown = [c for c in getattr(data, key) if c not in frame.columns]
        if unknown:
            raise BadInput(f"[data] {key}: column {unknown[0]!r} is not in {name}")
    if len(frame.columns) < 2:
        raise BadInput(f"{name} has no feature columns besides the target {data.target!r}")


def _check_rows(frame: pd.DataFrame, data: DataSettings, name: str) -> None:
    if len(frame) < MIN_ROWS:
        raise BadInput(
            f"{name} has {len(frame)} rows: at least {MIN_ROWS} are needed for a holdout and "
            f"{data.cv_folds}-fold validation"
        )
    missing = int(frame[data.target].isna().sum())
    if missing:
        raise BadInput(
            f"target {data.target!r} is empty in {missing} rows: fill them or remove those rows"
        )


def min_class_rows(data: DataSettings) -> int:
    """Rows a class needs so that both the holdout and every validation fold see it."""
    return math.ceil((data.cv_folds + 1) / (1 - data.test_size))


def _check_target(target: pd.Series, settings: Settings) -> None:
    name = target.name
    if settings.task == "regression":
        if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
            raise BadInput(
                f"target {name!r} is not numeric: a regression predicts numbers "
                "(task = classification?)"
            )
        if target.nunique() < 2:
            raise BadInput(f"target {name!r} has one value in every row: nothing to predict")
        return
    counts = target.value_counts()
    if len(counts) < 2:
        raise BadInput(f"target {name!r} has one class only: nothing to classify")
    if _continuous(target):
        raise BadInput(
            f"target {name!r} holds {len(counts)} distinct fractional numbers: that is a "
            "regression target (task = regression?)"
        )
    needed = min_class_rows(settings.data)
    rare = counts[counts < needed]
    if len(rare):
        raise BadInput(
            f"class {rare.index[0]!r} of target {name!r} has {int(rare.iloc[0])} rows; the "
            f"holdout and {settings.data.cv_folds}-fold validation need at least {needed} per "
            "class (merge rare classes or remove their rows)"
        )


def _continuous(target: pd.Series) -> bool:
    if not pd.api.types.is_float_dtype(target):
        return False
    return bool((target % 1 != 0).any())


def _check_feature(column: pd.Series, data: DataSettings) -> None:
    name = column.name
    values = column.dropna()
    drop_it = "list it in [data] drop"
    if values.empty:
        raise BadInput(f"column {name!r} is empty in every row: {drop_it}")
    if values.nunique() < 2:
        raise BadInput(f"column {name!r} has the same value in every row: {drop_it}")
    if pd.api.types.is_datetime64_any_dtype(column) or _looks_like_dates(values):
        raise BadInput(
            f"column {name!r} holds dates: turn it into numbers in the CSV (year, month, days "
            f"since ...) or {drop_it}"
        )
    if is_categorical(column) or name in data.categorical:
        _check_categories(values, data)


def _looks_like_dates(values: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    sample = values.astype(str).head(DATE_SAMPLE)
    if not sample.str.contains(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", regex=True).all():
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().all())


def _check_categories(values: pd.Series, data: DataSettings) -> None:
    distinct = values.nunique()
    if distinct > data.max_categories:
        looks = " (an id or free text?)" if distinct >= ID_LIKE_SHARE * len(values) else ""
        raise BadInput(
            f"column {values.name!r} has {distinct} categories, more than [data] "
            f"max_categories = {data.max_categories}{looks}: list it in [data] drop or raise "
            "max_categories"
        )
