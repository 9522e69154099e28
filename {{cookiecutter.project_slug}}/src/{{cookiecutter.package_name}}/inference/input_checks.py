"""Rows checked against the model's signature before any prediction, with a line that names
what is wrong: the missing columns, or the column and the first row (1 = the first data row)
that cannot be its type. Each column is then converted to its signature's type, as MLflow's
scoring server converts a request, so a row scores here as `mlops serve` scores it: a gap is a
gap (the model imputes it), a category never seen in training is scored, not refused.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from mlflow.types.schema import ColSpec, DataType, Schema
from pandas.api.types import is_bool_dtype, is_numeric_dtype

from ..errors import BadInput

NUMBERS = {DataType.double, DataType.float, DataType.long, DataType.integer}
BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


def text_columns(schema: Schema) -> frozenset[str]:
    """The columns the model reads as text: a CSV reader keeps them exactly as written."""
    return frozenset(
        spec.name for spec in schema.inputs
        if isinstance(spec, ColSpec) and spec.type == DataType.string and spec.name
    )  # fmt: skip


def check_columns(frame: pd.DataFrame, schema: Schema) -> None:
    """Every input column of the signature is there, those MLflow calls optional too (a column
    with gaps in training): the pipeline selects each one. Extra columns are the caller's."""
    missing = [name for name in schema.input_names() if name not in frame.columns]
    if missing:
        raise BadInput(f"the input lacks column(s) the model needs: {', '.join(map(str, missing))}")


def conform(frame: pd.DataFrame, schema: Schema, first_row: int) -> pd.DataFrame:
    """The model's columns, each converted to its signature type; `first_row` numbers the
    chunk's first row in the whole file, for the message."""
    columns = {}
    for spec in schema.inputs:
        if not isinstance(spec, ColSpec):
            raise BadInput(f"the model's signature holds a {type(spec).__name__}, not columns")
        columns[spec.name] = _converted(frame[spec.name], spec, first_row)
    return pd.DataFrame(columns, index=frame.index)


def _converted(column: pd.Series, spec: ColSpec, first_row: int) -> pd.Series:
    kind = spec.type
    if kind in NUMBERS:
        values = column if is_numeric_dtype(column) and not is_bool_dtype(column) else (
            pd.to_numeric(column, errors="coerce")
        )  # fmt: skip
        bad = column.notna() & values.isna()
        if kind in {DataType.long, DataType.integer}:
            bad |= values.notna() & (values != np.floor(values))
        _refuse(column, bad, spec, first_row)
        return values.astype("float64") if kind in {DataType.double, DataType.float} else values
    if kind == DataType.boolean:
        values = column.map(lambda v: v if isinstance(v, bool) else BOOLEANS.get(str(v).lower()))
        _refuse(column, column.notna() & values.isna(), spec, first_row)
        return values
    if kind == DataType.datetime:
        values = pd.to_datetime(column, errors="coerce")
        _refuse(column, column.notna() & values.isna(), spec, first_row)
        return values
    return (
        column.astype(object)
        .where(column.notna(), None)
        .map(lambda v: v if v is None or isinstance(v, str) else str(v))
    )


def _refuse(column: pd.Series, bad: pd.Series, spec: ColSpec, first_row: int) -> None:
    if bad.any():
        position = int(np.argmax(bad.to_numpy()))
        raise BadInput(
            f"column {spec.name!r} must be {_type_name(spec)}: row {first_row + position} holds "
            f"{column.iloc[position]!r}"
        )


def _type_name(spec: ColSpec) -> str:
    kind = spec.type
    return kind.name if isinstance(kind, DataType) else str(kind)
