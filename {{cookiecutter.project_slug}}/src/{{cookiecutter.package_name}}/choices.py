"""What a project may choose: the tasks, their bundled datasets and their metrics.

The one home of these tables is the template this project was baked from (its `_choices`):
the bake-time checks read them there and render them into `choices.json` beside this module, so
the questions, the checks and this package cannot disagree. A new metric goes into
`choices.json` (its task, its range and, when a smaller value is better, `lower_is_better`) and
its score function in `ml/metrics.py`; a new bundled dataset is any `sklearn.datasets.load_<name>`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

Task = Literal["classification", "regression"]

_TABLES = json.loads(Path(__file__).with_name("choices.json").read_text(encoding="utf-8"))

DATASETS: dict[str, tuple[str, ...]] = {
    task: tuple(names) for task, names in _TABLES["datasets"].items()
}
METRICS: dict[str, tuple[str, ...]] = {
    task: tuple(names) for task, names in _TABLES["metrics"].items()
}
METRIC_RANGES: dict[str, tuple[float | None, float | None]] = {
    name: (low, high) for name, (low, high) in _TABLES["metric_ranges"].items()
}

GREATER_IS_BETTER: dict[str, bool] = {
    name: name not in _TABLES["lower_is_better"] for names in METRICS.values() for name in names
}
TASK_OF: dict[str, Task] = {name: task for task, names in METRICS.items() for name in names}  # type: ignore[misc]


def range_text(low: float | None, high: float | None) -> str:
    """How a metric's range reads in an error: `lies between 0 and 1`, `is at most 1`."""
    if low is not None and high is not None:
        return f"lies between {low:g} and {high:g}"
    return f"is never below {low:g}" if low is not None else f"is at most {high:g}"


def within_range(metric: str, value: float) -> bool:
    low, high = METRIC_RANGES[metric]
    return (low is None or value >= low) and (high is None or value <= high)
