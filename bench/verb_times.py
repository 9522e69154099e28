"""How long the `mlops` command takes before it does anything: `--version` and `--help` (which
must not import MLflow, pydantic or NumPy), side by side with `mlflow --version` and a bare
`python -c pass` in the same run. Run it in an environment compiled as CI and the runner compile
theirs (`uv sync --compile-bytecode`): with `PYTHONDONTWRITEBYTECODE=1` and no compiled files,
every run would compile its imports again.

    tools/dev_bake.sh /tmp/bench-bake
    (cd /tmp/bench-bake/team-model && uv sync --frozen --compile-bytecode)
    /tmp/bench-bake/team-model/.venv/bin/python bench/verb_times.py /tmp/bench-bake/team-model
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def commands(project: Path) -> dict[str, list[str]]:
    bin_ = project / ".venv" / "bin"
    return {
        "python -c pass": [str(bin_ / "python"), "-c", "pass"],
        "mlops --version": [str(bin_ / "mlops"), "--version"],
        "mlops --help": [str(bin_ / "mlops"), "--help"],
        "mlflow --version": [str(bin_ / "mlflow"), "--version"],
    }


def seconds(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    timed = commands(args.project)
    for command in timed.values():  # warm the page cache once
        seconds(command, args.project)
    runs: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(args.repeat):  # interleaved: a noisy moment hits every command alike
        for name, command in timed.items():
            runs[name].append(seconds(command, args.project))
    mlflow = statistics.median(runs["mlflow --version"])
    print(f"| command | median of {args.repeat} | vs mlflow --version |")
    print("|---|---:|---:|")
    for name, values in runs.items():
        median = statistics.median(values)
        print(f"| `{name}` | {median:.2f} s | {median / mlflow:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
