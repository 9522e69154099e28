"""The search space of `[tune.space]` and its trials: parse the space, sample the parameter sets
(scikit-learn's samplers, seeded), fit each one and pick the best by its validation score.

Pure scikit-learn like `training`: `mlops tune` logs what this finds.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from sklearn.model_selection import ParameterGrid, ParameterSampler
from tqdm import tqdm  # text bars: tqdm.auto warns in a Jupyter without ipywidgets

from ..errors import BadInput
from ..metric_names import validation_metric
from ..settings import Settings
from .data import Split
from .metrics import is_better
from .model import check_params, estimator_class
from .training import FittedCandidate, fit_candidate

RANGE_KEYS = {"low", "high", "log"}
SIGNIFICANT_DIGITS = 6


@dataclass(frozen=True)
class Choices:
    """A list in `[tune.space]`: one of these values."""

    values: tuple[Any, ...]

    def distribution(self) -> list[Any]:
        return list(self.values)

    def grid(self, _points: int) -> list[Any]:
        return list(self.values)

    def tidy(self, value: Any) -> Any:
        return value

    def __str__(self) -> str:
        return f"choice{list(self.values)}"


@dataclass(frozen=True)
class Range:
    """A table `{ low, high, log }`: integers when both ends are integers, else floats."""

    low: float
    high: float
    log: bool = False

    @property
    def integer(self) -> bool:
        return isinstance(self.low, int) and isinstance(self.high, int)

    def distribution(self):
        """A scipy distribution for scikit-learn's `ParameterSampler` (integers are rounded
        by `tidy`, so a log range of integers samples on a log scale too)."""
        if self.integer and not self.log:
            return stats.randint(self.low, self.high + 1)
        if self.log:
            return stats.loguniform(self.low, self.high)
        return stats.uniform(self.low, self.high - self.low)

    def grid(self, points: int) -> list[float | int]:
        spaced = np.geomspace if self.log else np.linspace
        values = [self.tidy(float(v)) for v in spaced(self.low, self.high, points)]
        return list(dict.fromkeys(values))

    def tidy(self, value: float) -> float | int:
        """Readable values in the UI; integers stay inside the range."""
        if self.integer:
            return min(max(round(value), int(self.low)), int(self.high))
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")

    def __str__(self) -> str:
        kind = "int" if self.integer else "float"
        return f"{'log-' if self.log else ''}{kind}[{self.low}, {self.high}]"


Dimension = Choices | Range


@dataclass(frozen=True)
class Trial:
    number: int
    searched: dict[str, Any]
    candidate: FittedCandidate


@dataclass(frozen=True)
class Search:
    """What the search found, before anything is logged."""

    space: dict[str, Dimension]
    method: str
    trials: list[Trial]
    best: Trial


def parse_space(settings: Settings) -> dict[str, Dimension]:
    """`[tune.space]` validated: every entry a list or a range, every name an estimator param."""
    raw = settings.tune.space
    if not raw:
        raise BadInput("[tune.space] is empty: declare at least one parameter to search")
    space = {name: _dimension(name, spec) for name, spec in raw.items()}
    try:
        check_params(estimator_class(settings.model.estimator), space)
    except BadInput as exc:
        raise BadInput(f"[tune.space] {exc}") from None
    return space


def _dimension(name: str, spec: Any) -> Dimension:
    where = f"[tune.space] {name}"
    if isinstance(spec, list):
        if not spec:
            raise BadInput(f"{where}: the list of choices is empty")
        return Choices(tuple(spec))
    if not isinstance(spec, dict):
        raise BadInput(f"{where}: expected a list of choices or a table with low, high (and log)")
    unknown, missing = set(spec) - RANGE_KEYS, {"low", "high"} - set(spec)
    if unknown or missing:
        problem = f"unknown key {sorted(unknown)[0]!r}" if unknown else "needs low and high"
        raise BadInput(f"{where}: {problem} (a range has low, high and optionally log)")
    low, high, log = spec["low"], spec["high"], spec.get("log", False)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high)):
        raise BadInput(f"{where}: low and high must be numbers")
    if not isinstance(log, bool):
        raise BadInput(f"{where}: log must be true or false")
    if not low < high:
        raise BadInput(f"{where}: low ({low}) must be below high ({high})")
    if log and low <= 0:
        raise BadInput(f"{where}: log = true needs low > 0")
    return Range(low, high, log)


def sample_trials(space: dict[str, Dimension], method: str, trials: int, seed: int) -> list[dict]:
    """The parameter sets to try, in order, from scikit-learn's samplers; the same seed always
    gives the same plan."""
    if method == "grid":
        return _grid(space, trials, seed)
    sizes = [len(d.values) for d in space.values() if isinstance(d, Choices)]
    if len(sizes) == len(space):  # only lists: sampled without replacement
        trials = min(trials, math.prod(sizes))
    distributions = {name: dim.distribution() for name, dim in space.items()}
    sampled = ParameterSampler(distributions, n_iter=trials, random_state=seed)
    return [{name: space[name].tidy(combo[name]) for name in space} for combo in sampled]


def _grid(space: dict[str, Dimension], trials: int, seed: int) -> list[dict]:
    """Every combination (`ParameterGrid`); ranges get as many points as fit in `trials`. A grid
    larger than `trials` is thinned to a seeded sample of `trials` points, kept in grid order."""
    ranges = sum(isinstance(dim, Range) for dim in space.values())
    choices = math.prod(len(d.values) for d in space.values() if isinstance(d, Choices))
    points = max(2, math.floor((trials / choices) ** (1 / ranges) + 1e-9)) if ranges else 0
    grid = ParameterGrid({name: dim.grid(points) for name, dim in space.items()})
    combos = [{name: combo[name] for name in space} for combo in grid]
    if len(combos) > trials:
        keep = sorted(random.Random(seed).sample(range(len(combos)), trials))  # noqa: S311 (seeded)
        combos = [combos[i] for i in keep]
    return combos


def fit_trials(
    settings: Settings, split: Split, combos: list[dict], progress: bool = True
) -> list[Trial]:
    """Fit and score every candidate locally (no request), with a progress bar."""
    trials: list[Trial] = []
    bar = tqdm(combos, desc="tune: fit", unit="trial", disable=not progress)
    for number, searched in enumerate(bar, 1):
        try:
            candidate = fit_candidate(settings, split, searched)
        except BadInput as exc:
            raise BadInput(f"trial {number} {searched}: {exc}") from None
        trials.append(Trial(number, searched, candidate))
        best = pick_best(trials, settings)
        for trial in trials:  # only the best keeps its fold models, for its pictures
            if trial is not best and trial.candidate.out_of_fold is not None:
                trial.candidate.out_of_fold.release()
        bar.set_postfix(
            {validation_metric(settings.metric.primary): f"{trial_score(best, settings):.4f}"}
        )
    return trials


def trial_score(trial: Trial, settings: Settings) -> float:
    return trial.candidate.metrics[validation_metric(settings.metric.primary)]


def pick_best(trials: list[Trial], settings: Settings) -> Trial:
    """The best by the validation score of the primary metric (never the holdout: see
    `validation`); the earliest wins a tie."""
    best = trials[0]
    for trial in trials[1:]:
        if is_better(
            trial_score(trial, settings),
            trial_score(best, settings),
            settings.metric.greater_is_better,
        ):
            best = trial
    return best
