"""The split's parts as MLflow datasets: what a run logs as its inputs, and the digest that
names the holdout every candidate was scored on (`mlops.holdout_digest`)."""

from __future__ import annotations

from typing import Protocol

import mlflow.data
import pandas as pd
from mlflow.data.pandas_dataset import PandasDataset


class Parts(Protocol):
    """What this module needs of `ml.data.Split` (tracking never imports the team's room)."""

    @property
    def name(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def source(self) -> str | None: ...
    def part(self, name: str) -> pd.DataFrame: ...


def as_dataset(split: Parts, part: str) -> PandasDataset:
    """The `train` or `holdout` part as an MLflow dataset (its digest identifies the rows)."""
    return mlflow.data.from_pandas(  # type: ignore[attr-defined]  # mlflow.data's lazy names
        split.part(part), targets=split.target, name=f"{split.name}-{part}", source=split.source
    )


def holdout_digest(split: Parts) -> str:
    return as_dataset(split, "holdout").digest
