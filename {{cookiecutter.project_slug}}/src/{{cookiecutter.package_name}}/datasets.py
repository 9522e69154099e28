"""The split's parts as MLflow datasets: what a run logs as its inputs, and the digest that
names the holdout every candidate was scored on (`mlops.holdout_digest`)."""

from __future__ import annotations

import mlflow.data
from mlflow.data.pandas_dataset import PandasDataset

from .data import Split


def as_dataset(split: Split, part: str) -> PandasDataset:
    """The `train` or `holdout` part as an MLflow dataset (its digest identifies the rows)."""
    return mlflow.data.from_pandas(  # type: ignore[attr-defined]  # mlflow.data's lazy names
        split.part(part), targets=split.target, name=f"{split.name}-{part}", source=split.source
    )


def holdout_digest(split: Split) -> str:
    return as_dataset(split, "holdout").digest
