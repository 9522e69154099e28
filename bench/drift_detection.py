"""How often does `mlops monitor` raise an alarm, on batches where the truth is known? A
detection benchmark with ground truth, like the decisions benchmark.

A synthetic population of a team's customers (numbers with gaps, a category, a bool, and a
yes/no outcome that follows them through a logistic signal) is drawn fresh for every batch. Each
champion is trained by the baked project's own code on a team's table of 3,000 or 10,000 rows
(`fit_candidate`, then the reference profile `mlops train` logs), and its holdout score is the
one monitor compares with: its luck is part of the false-alarm rate, and the holdout's size
limits how small a decay can be told from it. Then, per batch size, batches are drawn:

- no drift: straight from the population;
- `spend` moved by 0.5 and by 1 standard deviation (the outcome still follows the features:
  a covariate shift);
- the mix of `region` changed (the rarest region becomes the most frequent);
- gaps in `spend` jump from 5 % to 25 %;
- concept shift: the outcome no longer follows the features as it did, calibrated so that the
  champion's true primary metric falls by 0.05.

Each batch goes through monitor's own comparison (`profiles.reference.binned`,
`profiles.drift.compared`, `monitoring.decay.measured`) with the `[monitor]` defaults; the
model's predictions are profiled and compared too. No server: the figures are about the
statistics, which run the same behind the verb.

    /tmp/bench-bake/team-model/.venv/bin/python bench/drift_detection.py /tmp/bench-bake/team-model
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import baked
import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")

REGIONS = ["east", "west", "north", "south"]
REGION_SHARES = [0.4, 0.3, 0.2, 0.1]
REGION_EFFECT = {"east": 0.8, "west": -0.4, "north": 0.3, "south": -0.9}
THRESHOLD = 0.0
CONCEPT_DROP = 0.05


def population(rows: int, rng: np.random.Generator,
               change: Callable[[pd.DataFrame, np.random.Generator], None] | None = None
               ) -> pd.DataFrame:  # fmt: skip
    """Customers and their outcome; `change` edits the features before the outcome is drawn."""
    frame = pd.DataFrame({
        "spend": rng.normal(50, 15, rows),
        "tenure": rng.gamma(2.0, 12.0, rows),
        "visits": rng.poisson(3, rows).astype(float),
        "region": rng.choice(REGIONS, rows, p=REGION_SHARES),
        "promo": rng.random(rows) < 0.3,
    })  # fmt: skip
    frame.loc[rng.random(rows) < 0.05, "spend"] = np.nan
    if change is not None:
        change(frame, rng)
    spend = frame["spend"].fillna(50)
    signal = (0.05 * (frame["tenure"] - 24) - 0.06 * (spend - 50) + 0.2 * (frame["visits"] - 3)
              + frame["region"].map(REGION_EFFECT) + 0.9 * frame["promo"]
              + rng.normal(0, 1.0, rows))  # fmt: skip
    frame["outcome"] = np.where(signal > THRESHOLD, "yes", "no")
    return frame


def moved(sigmas: float):
    def change(frame: pd.DataFrame, _rng) -> None:
        frame["spend"] += 15 * sigmas

    return change


def region_mix(frame: pd.DataFrame, rng: np.random.Generator) -> None:
    frame["region"] = rng.choice(REGIONS, len(frame), p=REGION_SHARES[::-1])


def gaps(frame: pd.DataFrame, rng: np.random.Generator) -> None:
    frame.loc[rng.random(len(frame)) < 0.2, "spend"] = np.nan


class Monitor:
    """The baked project's training and monitoring code."""

    def __init__(self, project: Path, folder: Path):
        self.m = baked.modules(project, "settings", "data", "training", "profiling", "reference",
                               "drift", "decay", "metrics")  # fmt: skip
        settings = self.m["settings"].load_settings(project / "mlops.toml")
        self.folder = folder
        self.settings = settings.replace("data", target="outcome", drop=[], categorical=[], id=[])
        self.settings = self.settings.replace("tracking", pictures=False)

    def champion(self, seed: int, rows: int):
        path = self.folder / f"team-{seed}.csv"
        population(rows, np.random.default_rng(seed)).to_csv(path, index=False)
        settings = self.settings.replace("data", source=str(path))
        split = self.m["data"].load_split(settings)
        candidate = self.m["training"].fit_candidate(settings, split, {})
        candidate = self.m["profiling"].profiled(candidate, split, settings)
        return candidate

    def check(self, candidate, batch: pd.DataFrame) -> tuple[bool, bool, str]:
        """(drift, decay, the first column of the table), as `mlops monitor` decides them."""
        profile, ref = candidate.profile, self.m["reference"]
        features = batch.drop(columns=["outcome"]).astype({"visits": float})
        said = self.m["metrics"].predict(candidate.pipeline, features)
        counts = {name: ref.binned(p, features[name]) for name, p in profile["columns"].items()}
        counts[ref.PREDICTION] = ref.binned(profile["prediction"], pd.Series(said.labels))
        every = {**profile["columns"], ref.PREDICTION: profile["prediction"]}
        monitor = self.settings.monitor
        found = self.m["drift"].compared(every, counts, monitor.alpha, monitor.min_psi)
        before = candidate.metrics[self.settings.metric.primary]
        decay = self.m["decay"].measured(batch["outcome"].to_numpy(), said, before, self.settings)
        first = next(d.column for d in found if d.column != ref.PREDICTION)
        return any(d.drifted for d in found), decay.decayed, first

    def concept_flip(self, candidate, seed: int) -> float:
        """The share of outcomes to flip so the champion's true score falls by CONCEPT_DROP."""
        big = population(200_000, np.random.default_rng(seed))
        said = candidate.pipeline.predict(big.drop(columns=["outcome"]))
        metric = self.m["metrics"].METRICS[self.settings.metric.primary]
        truth = big["outcome"].to_numpy()
        base = metric.score(truth, said, None)
        uniforms = np.random.default_rng(seed + 1).random(len(big))
        low, high = 0.0, 0.5
        for _ in range(20):
            q = (low + high) / 2
            flipped = np.where(uniforms < q, np.where(truth == "yes", "no", "yes"), truth)
            drop = base - metric.score(flipped, said, None)
            low, high = (q, high) if drop < CONCEPT_DROP else (low, q)
        return (low + high) / 2


def concept(q: float):
    def flip(batch: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
        flipped = rng.random(len(batch)) < q
        swap = batch["outcome"].map({"yes": "no", "no": "yes"})
        return batch.assign(outcome=batch["outcome"].where(~flipped, swap))

    return flip


def scenarios(q: float) -> dict[str, tuple[Callable | None, Callable | None, str | None]]:
    """name: (change of the features, change of the outcome, the column that moved)."""
    return {
        "no drift": (None, None, None),
        "spend +0.5 sd": (moved(0.5), None, "spend"),
        "spend +1 sd": (moved(1.0), None, "spend"),
        "region mix changed": (region_mix, None, "region"),
        "spend gaps 5% -> 25%": (gaps, None, "spend"),
        f"concept: true {CONCEPT_DROP} drop": (None, concept(q), None),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--champions", type=int, default=5)
    parser.add_argument("--batches", type=int, default=40, help="per champion, size and shift")
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2_000])
    parser.add_argument("--training-rows", type=int, nargs="+", default=[3_000, 10_000])
    args = parser.parse_args()
    sys.path.insert(0, str(args.project / "src"))
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        monitor = Monitor(args.project, Path(folder))
        tally: dict[tuple[int, str, int], list[tuple[bool, bool, bool]]] = {}
        for rows in args.training_rows:
            for seed in range(args.champions):
                candidate = monitor.champion(seed, rows)
                q = monitor.concept_flip(candidate, 10_000 + seed)
                for name, (change, outcome, column) in scenarios(q).items():
                    for size in args.sizes:
                        for batch_seed in range(args.batches):
                            rng = np.random.default_rng([seed, size, batch_seed, len(name)])
                            batch = population(size, rng, change)
                            if outcome is not None:
                                batch = outcome(batch, rng)
                            drift, decay, first = monitor.check(candidate, batch)
                            named = column is None or first == column
                            tally.setdefault((rows, name, size), []).append((drift, decay, named))
    print(f"{args.champions} champions x {args.batches} batches per cell, "
          f"[monitor] defaults, {time.monotonic() - started:.0f} s\n")  # fmt: skip
    print("| team's table | batch | rows | alarm (exit 1) | drift | decay | moved column first |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for (rows, name, size), found in tally.items():
        drift = np.mean([d for d, _, _ in found])
        decay = np.mean([c for _, c, _ in found])
        alarm = np.mean([d or c for d, c, _ in found])
        named = np.mean([n for _, _, n in found])
        print(f"| {rows:,} | {name} | {size:,} | {alarm:.1%} | {drift:.1%} | {decay:.1%} "
              f"| {named:.0%} |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
