"""For comparison only: Evidently's default data-drift preset on the batches of
`drift_detection.py` (same population, same shifts, same seeds). Evidently is not a dependency
of the template or of a bake; run this with an interpreter that has it:

    uv venv -p 3.11 /tmp/ev && uv pip install -p /tmp/ev evidently "pandas<3"
    /tmp/ev/bin/python bench/drift_evidently.py

The reference is the training part a 3,000- or 10,000-row team's champion was trained on (the
75 % of its rows outside the holdout); Evidently needs those rows, where `mlops monitor` needs
only the profile in the MLmodel. Reported per shift and batch size: how often Evidently's
dataset-level verdict says drift (its default: half of the columns or more), how often any column
is flagged, and how often the moved column is. The concept shift is left out: a data-drift
preset does not score the model.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
from drift_detection import gaps, moved, population, region_mix

warnings.filterwarnings("ignore")

SCENARIOS = {
    "no drift": (None, None),
    "spend +0.5 sd": (moved(0.5), "spend"),
    "spend +1 sd": (moved(1.0), "spend"),
    "region mix changed": (region_mix, "region"),
    "spend gaps 5% -> 25%": (gaps, "spend"),
}


def drifted_columns(reference, batch) -> tuple[bool, set[str]]:
    """(Evidently's dataset verdict, the columns it flags), from its own metric values."""
    from evidently import Report
    from evidently.presets import DataDriftPreset

    result = Report([DataDriftPreset()]).run(current_data=batch, reference_data=reference).dict()
    flagged, dataset = set(), False
    for metric in result["metrics"]:
        config = metric["config"]
        if config["type"].endswith("DriftedColumnsCount"):
            dataset = metric["value"]["share"] >= config["drift_share"]
        elif config["type"].endswith("ValueDrift"):
            is_test = "p_value" in config["method"]
            value, threshold = metric["value"], config["threshold"]
            if (value < threshold) if is_test else (value >= threshold):
                flagged.add(config["column"])
    return dataset, flagged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--champions", type=int, default=5)
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2_000])
    parser.add_argument("--training-rows", type=int, nargs="+", default=[3_000, 10_000])
    args = parser.parse_args()
    started = time.monotonic()
    print("| team's table | batch | rows | dataset drift | any column | moved column |")
    print("|---:|---|---:|---:|---:|---:|")
    for rows in args.training_rows:
        found: dict[tuple[str, int], list[tuple[bool, bool, bool]]] = {}
        for seed in range(args.champions):
            team = population(rows, np.random.default_rng(seed)).drop(columns=["outcome"])
            reference = team.sample(frac=0.75, random_state=seed)
            for name, (change, column) in SCENARIOS.items():
                for size in args.sizes:
                    for batch_seed in range(args.batches):
                        rng = np.random.default_rng([seed, size, batch_seed, len(name)])
                        batch = population(size, rng, change).drop(columns=["outcome"])
                        dataset, flagged = drifted_columns(reference, batch)
                        hit = column is not None and column in flagged
                        found.setdefault((name, size), []).append((dataset, bool(flagged), hit))
        for (name, size), results in found.items():
            dataset, any_column, hit = (np.mean(values) for values in zip(*results, strict=True))
            moved_column = "-" if name == "no drift" else f"{hit:.1%}"
            print(f"| {rows:,} | {name} | {size:,} | {dataset:.1%} | {any_column:.1%} "
                  f"| {moved_column} |")  # fmt: skip
    print(f"\n{args.champions} references x {args.batches} batches per cell, "
          f"{time.monotonic() - started:.0f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
