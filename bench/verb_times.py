"""How long the `mlops` command takes: `--version` and `--help` (which must not import MLflow,
pydantic or NumPy), side by side with `mlflow --version` and a bare `python -c pass`; then the
verbs that talk to a server, `status` and `promote --dry-run`, side by side with a script making
the MLflow client calls `status` makes (each alias, then each distinct version's files), all
against the server `mlops demo --keep-server` leaves with a champion and a challenger. Run it in
an environment compiled as CI and the runner compile theirs (`uv sync --compile-bytecode`): with
`PYTHONDONTWRITEBYTECODE=1` and no compiled files, every run would compile its imports again.

    tools/dev_bake.sh /tmp/bench-bake
    (cd /tmp/bench-bake/team-model && uv sync --frozen --compile-bytecode)
    /tmp/bench-bake/team-model/.venv/bin/python bench/verb_times.py /tmp/bench-bake/team-model
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# What `mlops status` asks the server, through the MLflow client and nothing of the project's.
RAW_STATUS = """
import sys, tempfile
from mlflow import MlflowClient
from mlflow.artifacts import download_artifacts
from mlflow.exceptions import MlflowException
client, name, seen = MlflowClient(), sys.argv[1], set()
for alias in ("champion", "challenger", "previous-champion"):
    try:
        version = client.get_model_version_by_alias(name, alias)
    except MlflowException:
        continue
    if version.version not in seen:
        seen.add(version.version)
        with tempfile.TemporaryDirectory() as folder:
            download_artifacts(artifact_uri=version.source, dst_path=folder)
"""


def commands(project: Path) -> dict[str, list[str]]:
    bin_ = project / ".venv" / "bin"
    name = tomllib.loads((project / "mlops.toml").read_text())["model"]["registered_name"]
    return {
        "python -c pass": [str(bin_ / "python"), "-c", "pass"],
        "mlops --version": [str(bin_ / "mlops"), "--version"],
        "mlops --help": [str(bin_ / "mlops"), "--help"],
        "mlflow --version": [str(bin_ / "mlflow"), "--version"],
        "mlops status": [str(bin_ / "mlops"), "status"],
        "its client calls (a script)": [str(bin_ / "python"), "-c", RAW_STATUS, name],
        "mlops promote --dry-run": [str(bin_ / "mlops"), "promote", "--dry-run"],
    }


@contextmanager
def demo_server(project: Path) -> Iterator[dict[str, str]]:
    """The server `mlops demo --keep-server` leaves, as the variables a teammate exports."""
    demo = subprocess.Popen([str(project / ".venv" / "bin" / "mlops"), "demo", "--keep-server"],
                            cwd=project, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert demo.stdout is not None
        for line in demo.stdout:
            found = re.search(r"UI: (\S+)  \(login: (\S+), password in (.+)\)", line)
            if found:
                url, user, password_file = found.groups()
                password = Path(password_file).read_text().strip()
                yield {"MLFLOW_TRACKING_URI": url, "MLFLOW_TRACKING_USERNAME": user,
                       "MLFLOW_TRACKING_PASSWORD": password}  # fmt: skip
                return
        raise SystemExit(f"mlops demo --keep-server exited {demo.wait()}")
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(timeout=60)


def seconds(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Wall time of one run; exit 1 is the demo's second promotion refused by its gate."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command[:2])} exited {done.returncode}: {done.stderr}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    timed = commands(args.project)
    with demo_server(args.project) as credentials:
        env = {**os.environ, **credentials}
        for command in timed.values():  # warm the page cache once
            seconds(command, args.project, env)
        runs: dict[str, list[float]] = {name: [] for name in timed}
        for _ in range(args.repeat):  # interleaved: a noisy moment hits every command alike
            for name, command in timed.items():
                runs[name].append(seconds(command, args.project, env))
    medians = {name: statistics.median(values) for name, values in runs.items()}
    print(f"| command | median of {args.repeat} | vs mlflow --version | vs the client calls |")
    print("|---|---:|---:|---:|")
    for name, median in medians.items():
        versus_mlflow = median / medians["mlflow --version"]
        versus_raw = median / medians["its client calls (a script)"]
        print(f"| `{name}` | {median:.2f} s | {versus_mlflow:.2f}x | {versus_raw:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
