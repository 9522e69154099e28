"""Load the training data and cut the seeded holdout that every model is judged on.

The split depends only on `[data]` in `mlops.toml`, so champion and challenger are always scored
on exactly the same rows; the holdout's digest is recorded on each run to prove it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import mlflow.data
import pandas as pd
from mlflow.data.pandas_dataset import PandasDataset
from sklearn import datasets as sk_datasets
from sklearn.model_selection import train_test_split

from .choices import DATASETS
from .data_checks import check_frame
from .errors import BadInput, first_line
from .settings import Settings

BUNDLED = {  # name: (task, loader); the names come from the project's choices
    name: (task, getattr(sk_datasets, f"load_{name}"))
    for task, names in DATASETS.items()
    for name in names
}
SKLEARN_PREFIX = "sklearn:"


@dataclass(frozen=True)
class Split:
    """Train and holdout parts of one dataset, features and target kept apart."""

    name: str
    target: str
    source: str | None
    x_train: pd.DataFrame
    x_test: pd.DataFrame
    y_train: pd.Series
    y_test: pd.Series

    def dataset(self, part: str) -> PandasDataset:
        """The `train` or `holdout` part as an MLflow dataset (its digest identifies the rows)."""
        features, target = (
            (self.x_train, self.y_train) if part == "train" else (self.x_test, self.y_test)
        )
        frame = features.assign(**{self.target: target})
        return mlflow.data.from_pandas(  # type: ignore[attr-defined]  # mlflow.data's lazy names
            frame, targets=self.target, name=f"{self.name}-{part}", source=self.source
        )

    @cached_property
    def holdout_digest(self) -> str:
        return self.dataset("holdout").digest


def load_frame(settings: Settings) -> tuple[str, pd.DataFrame, str | None]:
    """(dataset name, frame with features and target, source path or None for bundled data).

    Columns in `[data] drop` are gone and the data has passed `data_checks`.
    """
    source, target = settings.data.source, settings.data.target
    if source.startswith(SKLEARN_PREFIX):
        name = source.removeprefix(SKLEARN_PREFIX)
        if name not in BUNDLED:
            raise BadInput(
                f"[data] source: unknown bundled dataset {name!r} ({', '.join(BUNDLED)})"
            )
        if BUNDLED[name][0] != settings.task:
            raise BadInput(f"[data] source: {name} is a {BUNDLED[name][0]} dataset")
        frame = BUNDLED[name][1](as_frame=True).frame.rename(columns={"target": target})
        frame = _prepared(frame, settings, name, curated=True)
        return name, frame, None
    path = settings.resolve(source)
    frame = read_csv(path)
    return path.stem, _prepared(frame, settings, path.name, curated=False), str(path)


def read_csv(path: Path) -> pd.DataFrame:
    """The CSV as pandas reads it; any reason it cannot be read is one line."""
    try:
        return pd.read_csv(path)
    except FileNotFoundError:
        raise BadInput(f"[data] source: {path} does not exist") from None
    except IsADirectoryError:
        raise BadInput(f"[data] source: {path} is a folder, not a CSV file") from None
    except pd.errors.EmptyDataError:
        raise BadInput(f"[data] source: {path} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        reason = first_line(exc)
        raise BadInput(f"[data] source: {path} is not a readable CSV ({reason})") from None


def _prepared(frame: pd.DataFrame, settings: Settings, name: str, curated: bool) -> pd.DataFrame:
    """Checked, without the dropped columns, integer features as floats."""
    check_frame(frame, settings, name, check_features=not curated)
    frame = frame.drop(columns=list(settings.data.drop))
    return _floats(frame, settings.data.target)


def _floats(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """Integer features become floats: MLflow's schema cannot express missing integers."""
    ints = [c for c in frame.columns if c != target and pd.api.types.is_integer_dtype(frame[c])]
    return frame.astype(dict.fromkeys(ints, "float64"))


def load_split(settings: Settings) -> Split:
    """The seeded split; stratified for classification so small classes reach the holdout."""
    name, frame, source = load_frame(settings)
    target = settings.data.target
    features, labels = frame.drop(columns=[target]), frame[target]
    x_train, x_test, y_train, y_test = train_test_split(
        features,
        labels,
        test_size=settings.data.test_size,
        random_state=settings.data.seed,
        stratify=labels if settings.task == "classification" else None,
    )
    return Split(name, target, source, x_train, x_test, y_train, y_test)
