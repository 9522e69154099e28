"""register-challenger's search as the experiment grows: every run ordered vs the challenger's bar.

For each size, a fresh sqlite store gets that many finished candidate runs, written with MLflow's
own store models (`SqlAlchemyStore`'s schema and session; 5,000 runs per commit), each with a
random validation score. A real `mlflow server` on 127.0.0.1 serves it, and the baked project's
`best_candidate` searches it over HTTP two ways:

- full: every eligible run ordered by the score on the server (`search_runs` with the project's
  filters, `max_results=1`): what the project did before, and what a plain `search_runs` does;
- bar: the same search narrowed to runs scoring at least the current challenger's score, which
  is the best of the first 99 % of the runs (the last 1 % arrived since it was registered).

Both must pick the same run, or the benchmark fails. Run it with a baked project's interpreter:

    tools/dev_bake.sh /tmp/bench-bake
    /tmp/bench-bake/team-model/.venv/bin/python bench/selection.py /tmp/bench-bake/team-model
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import baked

os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")

import requests

CHUNK = 5_000


def project_modules(project: Path) -> dict:
    return baked.modules(project, "candidate_search", "metric_names", "process", "settings")


def populate(db: Path, runs: int, metric: str, seed: int = 0) -> tuple[str, float]:
    """`runs` finished candidates with random scores; (experiment id, the challenger's score)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore(f"sqlite:///{db}", str(db.parent / "artifacts"))
    experiment_id = store.create_experiment("selection")
    rng, start = random.Random(seed), int(time.time() * 1000) - runs * 1000
    scores = [rng.random() for _ in range(runs)]
    for first in range(0, runs, CHUNK):
        with store.ManagedSessionMaker(read_only=False) as session:
            for i in range(first, min(runs, first + CHUNK)):
                session.add_all(run_rows(experiment_id, start + i * 1000, metric, scores[i]))
    store.engine.dispose()
    return experiment_id, max(scores[: int(runs * 0.99)])


def run_rows(experiment_id: str, started: int, metric: str, score: float) -> list:
    from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlRun, SqlTag

    run_id = uuid.uuid4().hex
    value = {"key": metric, "value": score, "timestamp": started, "step": 0, "is_nan": False}
    return [
        SqlRun(run_uuid=run_id, name=run_id[:8], source_type="LOCAL", source_name="",
               entry_point_name="", user_id="bench", status="FINISHED", start_time=started,
               end_time=started + 500, source_version="", lifecycle_stage="active",
               artifact_uri=f"artifacts/{run_id}", experiment_id=int(experiment_id)),
        SqlTag(key="mlops.candidate", value="true", run_uuid=run_id),
        SqlTag(key="mlops.has_model", value="true", run_uuid=run_id),
        SqlMetric(run_uuid=run_id, **value),
        SqlLatestMetric(run_uuid=run_id, **value),
    ]  # fmt: skip


class Server:
    """A plain `mlflow server` on the populated store (no auth: the search is what is timed)."""

    def __init__(self, db: Path, port: int):
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{db}",
             "--default-artifact-root", str(db.parent / "artifacts"), "--host", "127.0.0.1",
             "--port", str(port), "--workers", "1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip

    def wait(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/health", timeout=2).ok:
                    return
            except requests.RequestException:
                time.sleep(0.5)
        raise SystemExit(f"mlflow server at {self.url} did not start")

    def stop(self) -> None:
        os.killpg(self.process.pid, 15)
        self.process.wait(timeout=60)


def timed(search, repeat: int) -> tuple[float, str]:
    times, picked = [], ""
    for _ in range(repeat):
        started = time.perf_counter()
        picked = search().info.run_id
        times.append(time.perf_counter() - started)
    return statistics.median(times), picked


def measure(m: dict, settings, size: int, repeat: int, full_up_to: int, settle_s: float) -> dict:
    search = m["candidate_search"]
    metric = m["metric_names"].validation_metric(settings.metric.primary)
    with tempfile.TemporaryDirectory(prefix="bench-selection-") as folder:
        db = Path(folder) / "mlflow.db"
        started = time.perf_counter()
        experiment_id, bar = populate(db, size, metric)
        populated_s = time.perf_counter() - started
        server = Server(db, m["process"].free_port())
        try:
            server.wait()
            time.sleep(settle_s)  # MLflow's job runner starts up beside the server: let it finish
            local = settings.model_copy(
                update={"tracking": settings.tracking.model_copy(update={"uri": server.url})}
            )
            criteria = search.CandidateFilter()
            search.MlflowClient(server.url).search_runs([experiment_id], max_results=1)  # warm-up
            barred_s, barred = timed(
                lambda: search.best_candidate(local, experiment_id, criteria, bar), repeat
            )
            row = {"runs": size, "populate_s": populated_s, "bar_s": barred_s, "full_s": None}
            if size <= full_up_to:
                full_s, full = timed(
                    lambda: search.best_candidate(local, experiment_id, criteria), repeat
                )
                if full != barred:
                    raise SystemExit(f"{size} runs: bar picked {barred}, full search {full}")
                row["full_s"] = full_s
            return row
        finally:
            server.stop()


def table(rows: list[dict]) -> str:
    lines = [
        "| candidate runs | full search (s) | with the challenger's bar (s) | ratio |",
        "|---|---|---|---|",
    ]
    for row in rows:
        full = f"{row['full_s']:.2f}" if row["full_s"] is not None else "not run (quadratic)"
        ratio = f"{row['full_s'] / row['bar_s']:.0f}x" if row["full_s"] is not None else "-"
        lines.append(f"| {row['runs']:,} | {full} | {row['bar_s']:.3f} | {ratio} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path, help="a baked project (tools/dev_bake.sh)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3, help="searches per figure (median)")
    parser.add_argument(
        "--full-up-to", type=int, default=10_000, help="largest size of the (quadratic) full search"
    )
    parser.add_argument("--settle-s", type=float, default=30, help="wait after /health answers")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    m = project_modules(args.project)
    settings = m["settings"].load_settings(args.project / "mlops.toml")
    rows = [
        measure(m, settings, size, args.repeat, args.full_up_to, args.settle_s)
        for size in args.sizes
    ]
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
