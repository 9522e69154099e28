"""How often does the team's workflow promote a model that is really worse? A benchmark of
decisions, with ground truth.

A synthetic population (scikit-learn's `make_classification`, and a `make_regression` twin) is
large enough to know each model's true score: 50,000 rows are held back and never seen by the
workflow. Each draw takes a team-sized dataset (600 rows, so a 150-row holdout) from the rest
and runs the team's workflow against a real basic-auth `mlflow server` on 127.0.0.1, with the
baked project's own code:

1. a champion from the team's history: the project's estimator with its regularisation drawn
   at random (log-uniform over a wide range), trained, registered, promoted;
2. `tune` (20 trials, the project's `[tune.space]`), `register-challenger`, `promote`.

Then both models are scored on the held-back population. Per configuration:

- holdout (the previous release): tune and register-challenger rank candidates by their
  holdout score, and promote gates on the point improvement (`min_improvement = 0.001`,
  `confidence = 0`);
- defaults (this release): candidates ranked by 5-fold cross-validation on the training part,
  promote gated by the paired-bootstrap 95 % lower bound of the improvement (> 0).

Reported: promotions, how many of them are worse on the population (the goal: at most 5 %
with the defaults), and, among the draws where the challenger is truly better by a clear margin,
how many were promoted (the gate must not refuse real progress).

Run it with a baked project's interpreter (see docs/benchmarks.md):

    tools/dev_bake.sh /tmp/bench-bake
    /tmp/bench-bake/team-model/.venv/bin/python bench/decisions.py /tmp/bench-bake/team-model
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import tempfile
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import baked
import numpy as np
import pandas as pd
from sklearn.datasets import make_classification, make_regression

os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
warnings.filterwarnings("ignore")

POPULATION_ROWS = 50_000
POOL_ROWS = 20_000
TEAM_ROWS = 600
CLEAR_MARGIN = {"f1": 0.02, "r2": 0.02}


@dataclass(frozen=True)
class Task:
    """A population, the project's estimator for it, and the champion's random history."""

    name: str
    metric: str
    estimator: str
    param: str
    champion_range: tuple[float, float]

    def population(self, seed: int) -> pd.DataFrame:
        rows = POPULATION_ROWS + POOL_ROWS
        if self.name == "classification":
            x, y = make_classification(
                n_samples=rows, n_features=12, n_informative=5, n_redundant=2, flip_y=0.08,
                class_sep=0.8, random_state=seed,
            )  # fmt: skip
        else:
            x, y = make_regression(
                n_samples=rows, n_features=12, n_informative=6, noise=60.0, random_state=seed
            )
        frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
        frame["y"] = y
        return frame


TASKS = {
    "classification": Task(
        "classification", "f1", "sklearn.linear_model.LogisticRegression", "C", (1e-4, 1e2)
    ),
    "regression": Task("regression", "r2", "sklearn.linear_model.Ridge", "alpha", (1e-1, 1e4)),
}


@dataclass(frozen=True)
class Outcome:
    promoted: bool
    true_gain: float  # challenger minus champion on the population, "better" direction


class Workflow:
    """The baked project's modules, one configuration of ranking and gate."""

    def __init__(self, project: Path):
        self.m = baked.modules(
            project, "candidate_search", "challenger", "data", "metrics", "process", "promotion",
            "search", "tracking_server", "settings", "train", "tune",
        )  # fmt: skip
        self.base = self.m["settings"].load_settings(project / "mlops.toml")

    def settings(self, task: Task, csv_path: Path, config: str):
        s = self.base.model_copy(update={"task": task.name})
        unique = uuid.uuid4().hex[:8]
        s = s.replace("tracking", experiment=f"bench-{unique}",
                      uri=os.environ["MLFLOW_TRACKING_URI"])  # fmt: skip
        s = s.replace("data", source=str(csv_path), target="y", drop=[], categorical=[])
        s = s.replace("metric", primary=task.metric, greater_is_better=True)
        space = {task.param: {"low": 0.001, "high": 100.0, "log": True}}
        s = s.replace("tune", method="random", trials=20, space=space)
        s = s.replace("model", registered_name=f"bench-{unique}", estimator=task.estimator,
                      params={task.param: 1.0})  # fmt: skip
        if config == "holdout":
            return s.replace("promotion", min_value=None, min_improvement=0.001,
                             min_relative_improvement=0.0, confidence=0.0)  # fmt: skip
        return s.replace("promotion", min_value=None, min_improvement=0.0,
                         min_relative_improvement=0.0, confidence=0.95)  # fmt: skip

    @contextlib.contextmanager
    def ranking(self, config: str):
        """The previous release ranked candidates by the holdout score: rename the metric the
        ranking code reads (the tune's and register-challenger's), and nothing else."""
        if config != "holdout":
            yield
            return
        patched = [self.m["search"], self.m["candidate_search"]]
        saved = [module.validation_metric for module in patched]
        for module in patched:
            module.validation_metric = lambda metric: metric
        try:
            yield
        finally:
            for module, original in zip(patched, saved, strict=True):
                module.validation_metric = original

    def draw(self, task: Task, truth: pd.DataFrame, csv_path: Path, config: str, seed: int):
        settings = self.settings(task, csv_path, config)
        rng = np.random.default_rng(seed)
        low, high = task.champion_range
        history = float(math.exp(rng.uniform(math.log(low), math.log(high))))
        with self.ranking(config):
            self.m["train"].train(settings, {task.param: history})
            self.m["challenger"].register_challenger(settings)
            self.m["promotion"].promote(settings)
            self.m["tune"].tune(settings, progress=False)
            self.m["challenger"].register_challenger(settings, newer_than_challenger=True)
            verdict = self.m["promotion"].promote(settings)
        gain = self.true_score(settings, verdict.challenger, truth) - self.true_score(
            settings, verdict.champion, truth
        )
        return Outcome(verdict.passed and verdict.champion is not None, gain)

    def true_score(self, settings, version, truth: pd.DataFrame) -> float:
        import mlflow.sklearn

        model = mlflow.sklearn.load_model(
            f"models:/{settings.model.registered_name}/{version.version}"
        )
        scores = self.m["metrics"].evaluate(
            model, truth.drop(columns=["y"]), truth["y"], settings.task
        )
        return scores[settings.metric.primary]


def summarise(task: Task, config: str, outcomes: list[Outcome]) -> dict:
    promoted = [o for o in outcomes if o.promoted]
    worse = [o for o in promoted if o.true_gain < 0]
    clear = [o for o in outcomes if o.true_gain >= CLEAR_MARGIN[task.metric]]
    return {
        "task": task.name,
        "config": config,
        "draws": len(outcomes),
        "promotions": len(promoted),
        "worse": len(worse),
        "worse_share": len(worse) / len(promoted) if promoted else 0.0,
        "clearly_better": len(clear),
        "clearly_better_promoted": sum(o.promoted for o in clear),
    }


def print_table(rows: list[dict]) -> None:
    print("| task | configuration | draws | promotions | worse on the population | "
          "clearly better: promoted |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for r in rows:
        power = (
            f"{r['clearly_better_promoted']} / {r['clearly_better']} "
            f"({r['clearly_better_promoted'] / r['clearly_better']:.0%})"
            if r["clearly_better"]
            else "-"
        )
        print(
            f"| {r['task']} | {r['config']} | {r['draws']} | {r['promotions']} | "
            f"{r['worse']} ({r['worse_share']:.1%}) | {power} |"
        )


@contextlib.contextmanager
def bench_server(workflow: Workflow, prefix: str):
    """A real basic-auth server on a free 127.0.0.1 port, MLflow's variables aimed at it as the
    admin; yields the scratch folder (CSVs go there)."""
    server, process = workflow.m["tracking_server"], workflow.m["process"]
    root = Path(tempfile.mkdtemp(prefix=prefix))
    paths = server.ServerPaths(root / "data", root / "artifacts")
    options = server.ServerSettings(port=process.free_port())
    password, _ = server.prepare(paths, options)
    with server.LocalServer(paths, options, password).start() as running:
        os.environ.update(MLFLOW_TRACKING_USERNAME="admin", MLFLOW_TRACKING_PASSWORD=password)
        os.environ["MLFLOW_TRACKING_URI"] = running.url
        yield root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path, help="a baked project (its interpreter runs this)")
    parser.add_argument("--draws", type=int, default=40)
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    workflow = Workflow(args.project.resolve())
    rows, started = [], time.monotonic()
    with bench_server(workflow, "bench-decisions-") as root:
        for name in args.tasks:
            task = TASKS[name]
            population = task.population(seed=0)
            truth, pool = population.iloc[:POPULATION_ROWS], population.iloc[POPULATION_ROWS:]
            for config in ("holdout", "defaults"):
                outcomes = []
                for seed in range(args.draws):
                    csv_path = root / f"{name}-{seed}.csv"
                    pool.sample(TEAM_ROWS, random_state=seed).to_csv(csv_path, index=False)
                    outcomes.append(workflow.draw(task, truth, csv_path, config, seed))
                    print(f"{name} {config} draw {seed}: {outcomes[-1]}", file=sys.stderr)
                rows.append(summarise(task, config, outcomes))
    print_table(rows)
    print(f"\n{sum(r['draws'] for r in rows)} draws in {time.monotonic() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
