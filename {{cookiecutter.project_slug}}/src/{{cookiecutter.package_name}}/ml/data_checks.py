"""Check the data before anything is fitted, and say in one line what is wrong (all of it).

A scikit-learn error deep inside a fit ("could not convert string to float", "Input X contains
NaN") names neither the column nor the fix; these checks do, and they run first in `train`,
`tune`, `promote`, `serve` and `doctor`.
"""

from __future__ import annotations

import math
import re

import pandas as pd

from ..errors import BadInput
from ..settings import DataSettings, Settings
from .features import is_categorical

MIN_ROWS = 20
"""Below this there is no holdout and no cross-validation worth the name."""
ID_LIKE_SHARE = 0.9
DATE_SAMPLE = 50


class DataProblems(BadInput):
    """Every problem of the data at once: a team fixes them in one round, not one per run."""

    def __init__(self, name: str, problems: list[str]) -> None:
        self.problems = problems
        many = f"{len(problems)} data problems in {name}: " + "; ".join(problems)
        super().__init__(problems[0] if len(problems) == 1 else many)


def check_frame(
    frame: pd.DataFrame, settings: Settings, name: str, check_features: bool = True
) -> None:
    """Every check; all problems are raised together (`DataProblems`), in the order a user
    would fix them. A missing target or setting column stops at once: nothing else is readable.

    The bundled datasets are curated (digits has constant border pixels on purpose), so only
    their target is checked.
    """
    data = settings.data
    _check_columns(frame, data, name)
    problems = [*_row_problems(frame, data, name), *_target_problems(frame[data.target], settings)]
    if check_features:
        for column in frame.columns.drop([data.target, *data.drop, *data.id]):
            problems += _feature_problems(frame[column], data)
    if problems:
        raise DataProblems(name, problems)


def _check_columns(frame: pd.DataFrame, data: DataSettings, name: str) -> None:
    if data.target not in frame.columns:
        raise BadInput(f"[data] target: column {data.target!r} is not in {name}")
    for key in ("drop", "categorical", "id"):
        unknown = [c for c in getattr(data, key) if c not in frame.columns]
        if unknown:
            raise BadInput(f"[data] {key}: column {unknown[0]!r} is not in {name}")
    if len(frame.columns) < 2:
        raise BadInput(f"{name} has no feature columns besides the target {data.target!r}")


def _row_problems(frame: pd.DataFrame, data: DataSettings, name: str) -> list[str]:
    problems = []
    if len(frame) < MIN_ROWS:
        problems.append(
            f"{name} has {len(frame)} rows: at least {MIN_ROWS} are needed for a holdout and "
            f"{data.cv_folds}-fold validation"
        )
    missing = int(frame[data.target].isna().sum())
    if missing:
        problems.append(
            f"target {data.target!r} is empty in {missing} rows: fill them or remove those rows"
        )
    return problems


def min_class_rows(data: DataSettings) -> int:
    """Rows a class needs so that both the holdout and every validation fold see it."""
    return math.ceil((data.cv_folds + 1) / (1 - data.test_size))


def _target_problems(target: pd.Series, settings: Settings) -> list[str]:
    name = target.name
    if settings.task == "regression":
        if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
            return [
                f"target {name!r} is not numeric: a regression predicts numbers "
                "(task = classification?)"
            ]
        if target.nunique() < 2:
            return [f"target {name!r} has one value in every row: nothing to predict"]
        return []
    counts = target.value_counts()
    if len(counts) < 2:
        return [f"target {name!r} has one class only: nothing to classify"]
    if _continuous(target):
        return [
            f"target {name!r} holds {len(counts)} distinct fractional numbers: that is a "
            "regression target (task = regression?)"
        ]
    needed = min_class_rows(settings.data)
    rare = counts[counts < needed]
    if len(rare):
        label = rare.index[0].item() if hasattr(rare.index[0], "item") else rare.index[0]
        return [
            f"class {label!r} of target {name!r} has {int(rare.iloc[0])} rows; the "
            f"holdout and {settings.data.cv_folds}-fold validation need at least {needed} per "
            "class (merge rare classes or remove their rows)"
        ]
    return []


def _continuous(target: pd.Series) -> bool:
    if not pd.api.types.is_float_dtype(target):
        return False
    return bool((target % 1 != 0).any())


def _feature_problems(column: pd.Series, data: DataSettings) -> list[str]:
    name = column.name
    values = column.dropna()
    drop_it = "list it in [data] drop"
    if values.empty:
        return [f"column {name!r} is empty in every row: {drop_it}"]
    if values.nunique() < 2:
        return [f"column {name!r} has the same value in every row: {drop_it}"]
    if pd.api.types.is_datetime64_any_dtype(column) or _looks_like_dates(values):
        return [
            f"column {name!r} holds dates: turn it into numbers in the CSV (year, month, days "
            f"since ...) or {drop_it}"
        ]
    why = _id_like(values)
    if why:
        return [
            f"column {name!r} looks like a row id ({why}): as a feature it leaks; add "
            f"id = [{name!r}] (or drop = [{name!r}]) under [data]"
        ]
    if is_categorical(column) or name in data.categorical:
        return _category_problems(values, data)
    return []


ID_NAME = re.compile(r"(?:^|[\s_.-])(?:id|ids|number|no|num|nr|key|index|uuid)$|^id[\s_.-]", re.I)


def _id_like(values: pd.Series) -> str | None:
    """Why a column identifies rows rather than describing them: unique values with an id's
    name, or integers counting the rows up."""
    if values.nunique() < len(values) or len(values) < MIN_ROWS:
        return None
    if ID_NAME.search(str(values.name)):
        return "a unique value per row, and an id's name"
    if pd.api.types.is_integer_dtype(values) or (
        pd.api.types.is_float_dtype(values) and bool((values % 1 == 0).all())
    ):
        steps = values.diff().dropna()
        if len(steps) and bool((steps == 1).all()):
            return "a counter that goes up by one each row"
    return None


def _looks_like_dates(values: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    sample = values.astype(str).head(DATE_SAMPLE)
    if not sample.str.contains(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", regex=True).all():
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().all())


def _category_problems(values: pd.Series, data: DataSettings) -> list[str]:
    distinct = values.nunique()
    if distinct > data.max_categories:
        looks = " (an id or free text?)" if distinct >= ID_LIKE_SHARE * len(values) else ""
        return [
            f"column {values.name!r} has {distinct} categories, more than [data] "
            f"max_categories = {data.max_categories}{looks}: list it in [data] drop or raise "
            "max_categories"
        ]
    return []
