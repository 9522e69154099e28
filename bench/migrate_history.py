"""`mlops server migrate` on a long history: rows per second and the command's peak memory.

A real server (the project's guard app) on sqlite takes a team's history through MLflow's API
(the generated tests' `tests/long_history.py`: trained runs with datasets and logged models, the
registry, traces, assessments, an evaluation dataset, and `--metric-rows` per-step metric rows);
then `migrate` copies it into an empty database of a throw-away PostgreSQL cluster, in a child
process of its own so its peak memory (max RSS) is its own. Needs PostgreSQL's `initdb` and
`pg_ctl` (the Debian package): without them it says so and exits 0.

    tools/dev_bake.sh /tmp/bench-bake
    /tmp/bench-bake/team-model/.venv/bin/python bench/migrate_history.py /tmp/bench-bake/team-model
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from load import project
from mlflow import MlflowClient

MIGRATE = """
import json, sys, time
from pathlib import Path
from {package}.central_pc.migrate import migrate
from {package}.settings import load_settings
settings = load_settings(Path(sys.argv[1])).replace("server", data_dir=sys.argv[2],
                                              artifacts_dir=sys.argv[3])
started = time.perf_counter()
copied = migrate(settings, sys.argv[4])
print(json.dumps({{"seconds": time.perf_counter() - started, "rows": sum(copied.values())}}))
"""


def history(path: Path, root: Path, metric_rows: int):
    """A server of its own filled with the history; its paths once it has stopped."""
    server_mod, settings_mod = project(path, "tracking_server"), project(path, "settings")
    from tests.long_history import write_history

    paths = server_mod.ServerPaths(root / "data", root / "artifacts")
    options = server_mod.ServerSettings(port=project(path, "process").free_port())
    password, _ = server_mod.prepare(paths, options)
    with server_mod.LocalServer(paths, options, password).start() as server:
        os.environ.update(MLFLOW_TRACKING_URI=server.url, MLFLOW_TRACKING_USERNAME="admin",
                          MLFLOW_TRACKING_PASSWORD=password)  # fmt: skip
        settings = settings_mod.load_settings(path / "mlops.toml")
        settings = settings.replace("tracking", uri=server.url, experiment=f"h-{uuid.uuid4().hex}")
        write_history(settings, MlflowClient(server.url), metric_rows)
    return paths


def migrate_timed(path: Path, paths, target: str) -> dict:
    package = project(path, "settings").__name__.split(".")[0]
    child = subprocess.Popen(
        [sys.executable, "-c", MIGRATE.format(package=package), str(path / "mlops.toml"),
         str(paths.data_dir), str(paths.artifacts_dir), target],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    out, err = child.stdout.read(), child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise SystemExit(f"migrate failed: {err.strip().splitlines()[-1]}")
    return {**json.loads(out), "peak_mb": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--metric-rows", type=int, default=300_000)
    args = parser.parse_args()
    sys.path.insert(0, str(args.project))
    from tests.postgres_cluster import AVAILABLE, running_cluster

    if not AVAILABLE:
        print("PostgreSQL's initdb and pg_ctl are not installed: nothing measured")
        return
    with tempfile.TemporaryDirectory(prefix="bench-migrate-") as root:
        paths = history(args.project, Path(root), args.metric_rows)
        size_mb = paths.backend_db.stat().st_size / 2**20
        with running_cluster() as cluster:
            result = migrate_timed(args.project, paths, cluster.database("migrate"))
    rate = result["rows"] / result["seconds"]
    print("| metric rows | sqlite (MB) | rows copied | seconds | rows/s | peak RSS (MB) |")
    print("|---|---|---|---|---|---|")
    print(f"| {args.metric_rows:,} | {size_mb:.0f} | {result['rows']:,} | "
          f"{result['seconds']:.1f} | {rate:,.0f} | {result['peak_mb']:.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
