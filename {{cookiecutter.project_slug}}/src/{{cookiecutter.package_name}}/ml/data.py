"""Load the training data and cut the seeded holdout that every model is judged on.

A row's part is a function of the row itself: a hash of its `[data] id` columns (else of its
content), keyed by the seed, against `test_size`. So appending rows never moves an old row
between training and holdout, and the same table gives the same split in any row order: a
champion trained last month never trained on a row of today's holdout, and can be challenged on
it (`promotion`). Stratification's job is kept: a class that the hash leaves without holdout rows
gives its lowest-hashed row to the holdout (a row that only ever moves from holdout to training
when the class grows, never the other way). Both parts are sorted by row key, so the folds of
the validation score do not depend on row order either.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets as sk_datasets

from ..choices import DATASETS
from ..errors import BadInput, first_line
from ..settings import Settings
from .data_checks import check_frame

BUNDLED = {  # name: (task, loader); the names come from the project's choices
    name: (task, getattr(sk_datasets, f"load_{name}"))
    for task, names in DATASETS.items()
    for name in names
}
SKLEARN_PREFIX = "sklearn:"
SPLIT_SCHEME = "row-hash-v1"
SAMPLE_SIZE = 32  # training row keys recorded per run: promote checks none is in its holdout


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
    train_keys: np.ndarray | None = None  # uint64 row keys, in the parts' order
    holdout_keys: np.ndarray | None = None
    description: str = ""  # the split's parameters: equal descriptions keep every row's part

    def part(self, name: str) -> pd.DataFrame:
        """The `train` or `holdout` part as one table, target included."""
        features, target = (
            (self.x_train, self.y_train) if name == "train" else (self.x_test, self.y_test)
        )
        return features.assign(**{self.target: target})

    def train_sample(self) -> str:
        """The lowest training row keys, as hex: a check that a later holdout holds none."""
        keys: list = []
        if self.train_keys is not None:
            keys = list(np.sort(self.train_keys)[:SAMPLE_SIZE])
        return ",".join(f"{int(key):016x}" for key in keys)


def split_description(settings: Settings) -> str:
    data = settings.data
    ids = ",".join(data.id) or "-"
    return f"{SPLIT_SCHEME} seed={data.seed} test_size={data.test_size} id={ids}"


def row_keys(frame: pd.DataFrame, id_columns: list[str], seed: int) -> np.ndarray:
    """One uint64 per row from its id columns (else its whole content), keyed by the seed.

    Numbers are hashed as float64 and everything else as text, so a column that gains a gap
    (ints read as floats) or changes dtype keeps every row's key."""
    part = frame[list(id_columns) or list(frame.columns)]
    numeric = part.select_dtypes(include="number").columns
    normal = part.astype({c: "float64" for c in numeric}).astype(
        {c: str for c in part.columns if c not in numeric}
    )
    hashed = pd.util.hash_pandas_object(normal, index=False).to_numpy(dtype=np.uint64)
    salt = int.from_bytes(hashlib.blake2b(str(seed).encode(), digest_size=8).digest(), "big")
    return _mix(hashed + np.uint64(salt))


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every bit of the salted hash moves every bit of the key, so
    another seed gives an independent split (pandas' own hash key only salts text)."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def load_frame(settings: Settings) -> tuple[str, pd.DataFrame, str | None]:
    """(dataset name, frame with features and target, source path or None for bundled data).

    Columns in `[data] drop` and `[data] id` are gone and the data has passed `data_checks`.
    """
    name, frame, source = read_table(settings)
    label = Path(source).name if source else name  # what the team calls it: the file's name
    return name, _prepared(frame, settings, label, curated=source is None), source


def read_table(settings: Settings) -> tuple[str, pd.DataFrame, str | None]:
    """The team's table as it is stored, before any setting applies: (name, frame, source)."""
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
        return name, frame, None
    path = settings.resolve(source)
    return path.stem, read_csv(path), str(path)


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
    """Checked, without the dropped and id columns, integer features as floats; the row keys
    (from the table as read: ids, or every column) are the index."""
    data = settings.data
    check_frame(frame, settings, name, check_features=not curated)
    keys = row_keys(frame, data.id, data.seed)
    frame = frame.drop(columns=sorted(set(data.drop) | set(data.id)))
    return _floats(frame, data.target).set_axis(pd.Index(keys, name="row_key"), axis=0)


def _floats(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """Integer features become floats: MLflow's schema cannot express missing integers."""
    ints = [c for c in frame.columns if c != target and pd.api.types.is_integer_dtype(frame[c])]
    return frame.astype(dict.fromkeys(ints, "float64"))


def load_split(settings: Settings) -> Split:
    """The repeatable split: each row's part from its key (see the module's docstring)."""
    name, frame, source = load_frame(settings)
    target = settings.data.target
    keys = frame.index.to_numpy(dtype=np.uint64)
    in_holdout = keys < np.uint64(min(settings.data.test_size, 1.0) * 2.0**64)
    if settings.task == "classification":
        in_holdout = _every_class_in_both(frame[target].to_numpy(), keys, in_holdout, name)
    frame = frame.reset_index(drop=True)
    order = np.argsort(keys, kind="stable")
    train = order[~in_holdout[order]]
    holdout = order[in_holdout[order]]
    features, labels = frame.drop(columns=[target]), frame[target]
    return Split(
        name, target, source,
        features.iloc[train], features.iloc[holdout], labels.iloc[train], labels.iloc[holdout],
        keys[train], keys[holdout], split_description(settings),
    )  # fmt: skip


def _every_class_in_both(labels, keys, in_holdout, name: str) -> np.ndarray:
    """A class without holdout rows gives its lowest-keyed row; one without training rows is
    refused (its every row hashed into the holdout: add rows or lower test_size)."""
    in_holdout = in_holdout.copy()
    for label in pd.unique(labels):
        rows = np.flatnonzero(labels == label)
        if len(rows) < 2:
            continue
        if not in_holdout[rows].any():
            in_holdout[rows[np.argmin(keys[rows])]] = True
        if in_holdout[rows].all():
            raise BadInput(
                f"{name}: every row of class {label!r} fell into the holdout; add rows of it "
                "or lower [data] test_size"
            )
    return in_holdout
