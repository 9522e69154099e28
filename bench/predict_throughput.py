"""`mlops predict` against MLflow's own ways of scoring a file, on the same file and the same
champion: rows per second and peak memory (RSS of the process that scores).

A real basic-auth server of the baked project on 127.0.0.1 gets a champion (the project's own
`train`, `register-challenger`, then the alias). A CSV of the project's features is written at
each size (rows drawn from the bundled dataset, with noise), and each way scores it in a
process of its own, its peak RSS read from the kernel (`wait4`):

- `mlops predict IN.csv -o OUT.csv --no-record` (verified files, chunks of 50,000 rows);
- `mlflow models predict -m <the same verified files> -t csv --env-manager local`;
- `mlflow.pyfunc.load_model(<the same files>).predict(pd.read_csv(IN))`, written to CSV.

    tools/dev_bake.sh /tmp/bench-bake
    cd /tmp/bench-bake/team-model && .venv/bin/python ~-/bench/predict_throughput.py .
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import baked
import numpy as np

os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "ERROR")

PYFUNC = """
import sys
import mlflow.pyfunc, pandas as pd
model = mlflow.pyfunc.load_model(sys.argv[1])
predictions = model.predict(pd.read_csv(sys.argv[2]))
pd.DataFrame({"prediction": predictions}).to_csv(sys.argv[3], index=False)
"""


def champion(m: dict, project: Path, url: str) -> tuple[Path, object]:
    """A champion on the server and its verified files on disk; the settings."""
    settings = m["settings"].load_settings(project / "mlops.toml", tracking_uri=url)
    m["train"].train(settings, {})
    version = m["challenger"].register_challenger(settings, allow_dirty=True).version
    from mlflow import MlflowClient

    client, name = MlflowClient(tracking_uri=url), settings.model.registered_name
    client.set_registered_model_alias(name, "champion", version)
    record = client.get_model_version(name, version)
    folder = Path(tempfile.mkdtemp(prefix="bench-predict-model-"))
    checked = m["model_files"].fetch_verified(name, record, folder)
    return checked.folder, settings


def write_input(settings, m: dict, rows: int, path: Path) -> None:
    """`rows` rows like the training data: the holdout's rows, resampled with a little noise."""
    features = m["data"].load_split(settings).x_train
    rng = np.random.default_rng(0)
    with path.open("w", encoding="utf-8") as handle:
        for start in range(0, rows, 100_000):
            count = min(100_000, rows - start)
            chunk = features.sample(count, replace=True, random_state=int(rng.integers(1 << 31)))
            numeric = chunk.select_dtypes("number").columns
            chunk = chunk.assign(**{c: chunk[c] * rng.normal(1, 0.01, count) for c in numeric})
            chunk.to_csv(handle, index=False, header=start == 0)


def measured(args: list[str], env: dict) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one scoring process."""
    started = time.perf_counter()
    child = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{args[:4]} failed: {child.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def ways(project: Path, model: Path, config: Path, source: Path, out: Path) -> dict[str, list]:
    bin_ = project / ".venv" / "bin"
    return {
        "mlops predict": [str(bin_ / "mlops"), "--config", str(config), "predict", str(source),
                          "-o", str(out / "mlops.csv"), "--no-record"],
        "mlflow models predict": [str(bin_ / "mlflow"), "models", "predict", "-m", str(model),
                                  "-i", str(source), "-t", "csv", "-o", str(out / "mlflow.json"),
                                  "--env-manager", "local"],
        "pyfunc.load_model + read_csv": [sys.executable, "-c", PYFUNC, str(model), str(source),
                                         str(out / "pyfunc.csv")],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path, help="a baked project (tools/dev_bake.sh)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    project = args.project.resolve()
    m = baked.modules(project, "challenger", "data", "model_files", "process", "settings",
                      "tracking_server", "train")  # fmt: skip
    server = m["tracking_server"]
    root = Path(tempfile.mkdtemp(prefix="bench-predict-"))
    paths = server.ServerPaths(root / "data", root / "artifacts")
    options = server.ServerSettings(port=m["process"].free_port())
    password, _ = server.prepare(paths, options)
    login = {"MLFLOW_TRACKING_USERNAME": "admin", "MLFLOW_TRACKING_PASSWORD": password}
    os.environ.update(login)
    os.environ["MLOPS_MODEL_CACHE"] = str(root / "model-cache")
    results: dict[tuple[str, int], tuple[float, float]] = {}
    with server.LocalServer(paths, options, password).start() as running:
        model, settings = champion(m, project, running.url)
        env = {**os.environ, "MLFLOW_TRACKING_URI": running.url, "MLOPS_PROGRESS": "off"}
        for rows in args.sizes:
            source = root / f"input-{rows}.csv"
            write_input(settings, m, rows, source)
            for way, command in ways(project, model, project / "mlops.toml", source, root).items():
                results[way, rows] = measured(command, env)
                print(f"{way} at {rows:,} rows: {results[way, rows]}", file=sys.stderr)
    print("| way | " + " | ".join(f"{r:,} rows: rows/s, peak MB" for r in args.sizes) + " |")
    print("|---" * (1 + len(args.sizes)) + "|")
    for way in ("mlops predict", "mlflow models predict", "pyfunc.load_model + read_csv"):
        cells = [f"{rows / results[way, rows][0]:,.0f}, {results[way, rows][1]:,.0f}"
                 for rows in args.sizes]  # fmt: skip
        print(f"| {way} | " + " | ".join(cells) + " |")
    low, high = min(args.sizes), max(args.sizes)
    for way in ("mlops predict", "mlflow models predict", "pyfunc.load_model + read_csv"):
        growth = results[way, high][1] / results[way, low][1]
        print(f"\npeak memory of {way} at {high:,} rows / at {low:,} rows: {growth:.2f}x")


if __name__ == "__main__":
    main()
