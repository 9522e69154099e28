"""The edits a team makes to its project in its first weeks, as the generated README and
`mlops doctor` suggest them: its own CSV (with a column added later), ids named in `[data] id`,
free text in `[data] drop`, numeric codes in `[data] categorical`, another estimator with its
own parameters and search space, another primary metric, and a feature step of its own written
as a class in a new file of the team's room (`ml/steps.py`), used by `ml/features.py`."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from .team_csv import write_team_csv

ESTIMATORS = {
    "classification": "sklearn.ensemble.RandomForestClassifier",
    "regression": "sklearn.ensemble.RandomForestRegressor",
}
METRICS = {"classification": ("roc_auc", "0.6"), "regression": ("mae", "")}

TEAM_STEP = '''"""The team's own pipeline steps."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin


class ClipToTrainingRange(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """The team's own step: numbers beyond what training saw are held at its range."""

    def fit(self, X, y=None) -> ClipToTrainingRange:
        values = np.asarray(X, dtype=float)
        self.n_features_in_ = values.shape[1]
        self.low_, self.high_ = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
        return self

    def transform(self, X) -> np.ndarray:
        return np.clip(np.asarray(X, dtype=float), self.low_, self.high_)
'''
CLIPPED = (  # as ruff formats it
    "make_pipeline(\n"
    '        SimpleImputer(strategy="median"), ClipToTrainingRange(), StandardScaler()\n'
    "    )"
)
OWN_IMPORT = "from ..settings import DataSettings\n"  # isort: the platform's, then the room's
STEP_IMPORT = "from .steps import ClipToTrainingRange\n"


def add_columns(path: Path) -> None:
    """The table grows sideways: a week-of-quarter code (a category written as a number) and a
    free-text note, the kind of columns a CSV export gains."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    rows[0] += ["signup_week", "notes"]
    for number, row in enumerate(rows[1:]):
        row += [str(1 + number * 7 % 13), f"called on day {number}"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def replace_line(text: str, key: str, line: str) -> str:
    """The first `key = ...` line replaced by `line`; fails loudly when the key is missing."""
    edited, count = re.subn(rf"(?m)^#? ?{re.escape(key)} = .*$", line, text, count=1)
    assert count == 1, f"no {key} line in mlops.toml"
    return edited


def replace_section(text: str, header: str, body: str) -> str:
    """A `[header]` table's lines replaced by `body` (up to the next table)."""
    pattern = rf"(?ms)^\[{re.escape(header)}\][^\n]*\n.*?(?=^\[|\Z)"
    edited, count = re.subn(pattern, f"[{header}]\n{body}\n\n", text, count=1)
    assert count == 1, f"no [{header}] in mlops.toml"
    return edited


def add_a_feature_step(project: Path) -> None:
    """A transformer class of the team's own in a new module of `ml/`, in the numeric
    pipeline that `ml/features.py` builds."""
    [features] = project.glob("src/*/ml/features.py")
    text = features.read_text(encoding="utf-8")
    plain = 'make_pipeline(SimpleImputer(strategy="median"), StandardScaler())'
    assert plain in text, "the numeric pipeline moved: update this edit"
    assert OWN_IMPORT in text, f"features.py has no {OWN_IMPORT!r} any more: update this edit"
    text = text.replace(plain, CLIPPED).replace(OWN_IMPORT, OWN_IMPORT + STEP_IMPORT, 1)
    features.write_text(text, encoding="utf-8")
    features.with_name("steps.py").write_text(TEAM_STEP, encoding="utf-8")


def edit_as_the_docs_suggest(project: Path, task: str) -> None:
    add_a_feature_step(project)
    add_columns(write_team_csv(project / "data" / "customers.csv", task, rows=400))
    config = project / "mlops.toml"
    text = config.read_text(encoding="utf-8")
    primary, min_value = METRICS[task]
    for key, line in [
        ("source", 'source = "data/customers.csv"'),
        ("target", 'target = "outcome"'),
        ("id", 'id = ["customer_id"]'),
        ("drop", 'drop = ["notes"]'),
        ("categorical", 'categorical = ["signup_week"]'),
        ("estimator", f'estimator = "{ESTIMATORS[task]}"'),
        ("primary", f'primary = "{primary}"'),
        ("greater_is_better", f"greater_is_better = {'false' if primary == 'mae' else 'true'}"),
        ("min_value", f"min_value = {min_value}" if min_value else "# min_value = ..."),
    ]:
        text = replace_line(text, key, line)
    text = replace_section(text, "model.params", "n_estimators = 50\nmax_depth = 6")
    text = replace_section(text, "tune.space", "max_depth = [3, 6, 9]\nn_estimators = [25, 50]")
    config.write_text(text, encoding="utf-8")
