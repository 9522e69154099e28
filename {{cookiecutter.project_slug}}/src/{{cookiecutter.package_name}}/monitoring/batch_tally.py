"""One pass over the new table, a chunk at a time: each profiled column counted in the
reference's bins, the champion's predictions counted likewise, and (when the rows carry the
target) the targets and predictions kept for the decay score."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow.types.schema import Schema

from ..errors import BadInput
from ..inference.input_checks import check_columns, conform, text_columns
from ..inference.tables import read_chunks
from ..ml.metrics import Predictions, predict
from ..profiles.reference import PREDICTION, binned


@dataclass
class Tally:
    profile: dict
    counts: dict[str, np.ndarray] = field(default_factory=dict)
    targets: list[np.ndarray] = field(default_factory=list)
    labels: list[np.ndarray] = field(default_factory=list)
    probas: list[np.ndarray] = field(default_factory=list)
    rows: int = 0

    def add(self, name: str, values: pd.Series, profile: dict) -> None:
        found = binned(profile, values)
        self.counts[name] = self.counts[name] + found if name in self.counts else found

    @property
    def labelled(self) -> tuple[np.ndarray, Predictions] | None:
        """The rows that carried the target, and what the champion said about them."""
        if not self.targets:
            return None
        probas = np.concatenate(self.probas) if self.probas else None
        return np.concatenate(self.targets), Predictions(np.concatenate(self.labels), probas)


def tally(source: Path, model, schema: Schema, profile: dict, target: str, chunk_rows: int,
          show: Callable[[str], None]) -> Tally:  # fmt: skip
    found = Tally(profile)
    columns = profile["columns"]
    for chunk in read_chunks(source, chunk_rows, text_columns(schema)):
        if chunk.empty:
            continue
        if found.rows == 0:
            check_columns(chunk, schema)
        features = conform(chunk, schema, found.rows + 1)
        for name, column_profile in columns.items():
            if name in features.columns:
                found.add(name, features[name], column_profile)
        said = predict(model, features)
        found.add(PREDICTION, pd.Series(said.labels), profile["prediction"])
        if target in chunk.columns:
            known = chunk[target].notna().to_numpy()
            found.targets.append(chunk[target].to_numpy()[known])
            found.labels.append(np.asarray(said.labels)[known])
            if said.proba is not None:
                found.probas.append(said.proba[known])
        found.rows += len(chunk)
        show(f"{found.rows:,} rows")
    if found.rows == 0:
        raise BadInput(f"input {source.name} holds no rows")
    return found
