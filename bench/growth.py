"""A table that grows: does the champion/challenger loop keep deciding right, and never stick?

The population of `bench/decisions.py` (50,000 rows held back as the truth). Each draw gives the
team 400 rows, a champion from its history (the project's estimator, its regularisation drawn
at random), then refreshes: each adds 200 new rows to the same CSV (400 -> 600 -> 800 -> 1000),
and the team does what `retrain.yml` does, plus a tune: `train --like champion`, `tune`,
`register-challenger`, `promote`. Against a real basic-auth `mlflow server` on 127.0.0.1, with the
baked project's own code.

Reported per task: refreshes, promotions, promotions worse on the population (the goal: at most
5 %), and refreshes where the loop got stuck, i.e. a command refused on data grounds instead of
a gate verdict (the goal: 0).

Run it with a baked project's interpreter (see docs/benchmarks.md):

    tools/dev_bake.sh /tmp/bench-bake
    /tmp/bench-bake/team-model/.venv/bin/python bench/growth.py /tmp/bench-bake/team-model
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import baked
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from decisions import POPULATION_ROWS, TASKS, Workflow, bench_server

FIRST_ROWS, NEW_ROWS = 400, 200


def draw(workflow: Workflow, task, truth, pool, csv_path: Path, seed: int, args) -> list[str]:
    """One team's history: each refresh ends as 'promoted', 'kept' or 'stuck: <reason>'."""
    m = workflow.m
    settings = workflow.settings(task, csv_path, "defaults")
    settings = settings.replace("tune", method="random", trials=args.trials,
                                space=settings.tune.space)  # fmt: skip
    rows = pool.sample(FIRST_ROWS + NEW_ROWS * args.refreshes, random_state=seed)
    rows.iloc[:FIRST_ROWS].to_csv(csv_path, index=False)
    low, high = task.champion_range
    rng = np.random.default_rng(seed)
    history = float(math.exp(rng.uniform(math.log(low), math.log(high))))
    m["train"].train(settings, {task.param: history})
    m["challenger"].register_challenger(settings)
    m["promotion"].promote(settings)
    outcomes = []
    for refresh in range(1, args.refreshes + 1):
        rows.iloc[: FIRST_ROWS + NEW_ROWS * refresh].to_csv(csv_path, index=False)
        try:
            m["train"].train(settings, m["retrain"].params_like(settings, "champion"))
            m["tune"].tune(settings, progress=False)
            m["challenger"].register_challenger(settings)
            verdict = m["promotion"].promote(settings)
        except m["errors"].BadInput as refusal:
            outcomes.append(f"stuck: {refusal}")
            continue
        if not verdict.passed or verdict.champion is None:
            outcomes.append("kept")
            continue
        gain = workflow.true_score(settings, verdict.challenger, truth) - workflow.true_score(
            settings, verdict.champion, truth
        )
        outcomes.append("promoted" if gain >= 0 else "promoted worse")
    return outcomes


def summarise(task: str, outcomes: list[str]) -> dict:
    promoted = [o for o in outcomes if o.startswith("promoted")]
    worse = [o for o in promoted if o == "promoted worse"]
    return {
        "task": task,
        "refreshes": len(outcomes),
        "promotions": len(promoted),
        "worse": len(worse),
        "worse_share": len(worse) / len(promoted) if promoted else 0.0,
        "stuck": sum(o.startswith("stuck") for o in outcomes),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path, help="a baked project (its interpreter runs this)")
    parser.add_argument("--draws", type=int, default=20)
    parser.add_argument("--refreshes", type=int, default=3)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    workflow = Workflow(args.project.resolve())
    workflow.m.update(baked.modules(args.project.resolve(), "retrain", "errors"))
    rows, started = [], time.monotonic()
    with bench_server(workflow, "bench-growth-") as root:
        for name in args.tasks:
            task = TASKS[name]
            population = task.population(seed=0)
            truth, pool = population.iloc[:POPULATION_ROWS], population.iloc[POPULATION_ROWS:]
            outcomes: list[str] = []
            for seed in range(args.draws):
                found = draw(workflow, task, truth, pool, root / f"{name}-{seed}.csv", seed, args)
                print(f"{name} draw {seed}: {found}", file=sys.stderr)
                outcomes += found
            rows.append(summarise(name, outcomes))
    print("| task | refreshes | promotions | worse on the population | stuck |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['task']} | {r['refreshes']} | {r['promotions']} | "
              f"{r['worse']} ({r['worse_share']:.1%}) | {r['stuck']} |")  # fmt: skip
    print(f"\n{sum(r['refreshes'] for r in rows)} refreshes in {time.monotonic() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
