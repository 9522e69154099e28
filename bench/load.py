"""Load on the team's server: N clients (separate processes) logging runs with models at once.

A real `mlops server start`-style server (the project's guard app, 1 worker) on sqlite or
on a throw-away PostgreSQL cluster, and a member user. Each client process logs `--runs` runs,
each with params, metrics and a fitted scikit-learn model (skops, signature, input example,
explicit pip requirements), as fast as it can. Reported per backend and client count: runs per
minute, p50/p95 of a whole run's logging, and errors.

Run it with a baked project's interpreter (see docs/benchmarks.md):

    tools/dev_bake.sh /tmp/bench-bake
    /tmp/bench-bake/team-model/.venv/bin/python bench/load.py /tmp/bench-bake/team-model
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import baked

WORKER = """
import json, os, sys, time, warnings
warnings.filterwarnings("ignore")
import mlflow
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

experiment, runs = sys.argv[1], int(sys.argv[2])
X, y = load_iris(return_X_y=True, as_frame=True)
model = LogisticRegression(max_iter=500).fit(X, y)
mlflow.set_experiment(experiment)
times, errors = [], 0
for i in range(runs):
    started = time.perf_counter()
    try:
        with mlflow.start_run():
            mlflow.log_params({"C": 1.0, "max_iter": 500, "worker": os.getpid()})
            mlflow.sklearn.log_model(model, name="model", input_example=X.head(3),
                                     pip_requirements=["scikit-learn"])
            mlflow.log_metrics({"f1": 0.9, "accuracy": 0.95})
        times.append(time.perf_counter() - started)
    except Exception:
        errors += 1
print(json.dumps({"times": times, "errors": errors}))
"""


def project(path: Path, module: str):
    sys.path.insert(0, str(path / "src"))
    return baked.modules(path, module)[module]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def load(url: str, login: tuple[str, str], experiment: str, clients: int, runs: int) -> dict:
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": url,
        "MLFLOW_TRACKING_USERNAME": login[0],
        "MLFLOW_TRACKING_PASSWORD": login[1],
        "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    }
    started = time.perf_counter()
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, experiment, str(runs)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for _ in range(clients)
    ]  # fmt: skip
    results = [json.loads(w.communicate()[0].strip().splitlines()[-1]) for w in workers]
    elapsed = time.perf_counter() - started  # includes each client's imports
    times = [t for r in results for t in r["times"]]
    return {
        "runs/min": 60 * len(times) / elapsed,
        "p50 run (s)": statistics.median(times),
        "p95 run (s)": percentile(times, 0.95),
        "errors": sum(r["errors"] for r in results),
    }


@contextlib.contextmanager
def backend(path: Path, name: str):
    """'' for sqlite, or the URI of a database in a throw-away PostgreSQL cluster."""
    if name == "sqlite":
        yield ""
        return
    sys.path.insert(0, str(path))
    from tests.postgres_cluster import running_cluster

    with running_cluster() as cluster:
        yield cluster.database("load")


def run(path: Path, backend_name: str, counts: list[int], runs: int) -> dict[int, dict]:
    server_mod, users = project(path, "tracking_server"), project(path, "users")
    settings_mod = project(path, "settings")
    results = {}
    with backend(path, backend_name) as uri:
        root = Path(tempfile.mkdtemp(prefix="bench-load-"))
        paths = server_mod.ServerPaths(root / "data", root / "artifacts")
        port = project(path, "process").free_port()
        options = server_mod.ServerSettings(port=port, backend_store_uri=uri)
        password, _ = server_mod.prepare(paths, options)
        with server_mod.LocalServer(paths, options, password).start() as server:
            experiment = f"load-{uuid.uuid4().hex[:6]}"
            settings = settings_mod.load_settings(path / "mlops.toml")
            settings = settings.replace("tracking", uri=server.url, experiment=experiment)
            settings = settings.replace(
                "server", port=options.port, data_dir=str(paths.data_dir),
                artifacts_dir=str(paths.artifacts_dir),
            )  # fmt: skip
            member = ("load-member", "load-" + uuid.uuid4().hex)
            users.add_user(settings, member[0], "member", member[1])
            for clients in counts:
                results[clients] = load(server.url, member, experiment, clients, runs)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--clients", default="1,4,8")
    parser.add_argument("--runs", type=int, default=10, help="runs per client")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    print("| backend | clients | runs/min | p50 run (s) | p95 run (s) | errors |")
    print("|---|---|---|---|---|---|")
    for name in args.backends.split(","):
        for clients, r in run(args.project, name, counts, args.runs).items():
            print(f"| {name} | {clients} | {r['runs/min']:.0f} | {r['p50 run (s)']:.2f} | "
                  f"{r['p95 run (s)']:.2f} | {r['errors']} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
