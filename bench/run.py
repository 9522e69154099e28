"""Every benchmark in one command: bake a default project, then run each benchmark with its
interpreter (they import the baked package, as a team's project would run it).

    uv run python bench/run.py                  # all, at the sizes docs/benchmarks.md quotes
    uv run python bench/run.py selection load   # some, by name
    uv run python bench/run.py --quick          # all, tiny: do they still run? (tests do this)
    uv run python bench/run.py --project /tmp/b/team-model selection   # reuse a bake

Figures are printed as the Markdown tables of docs/benchmarks.md. Exit status: 0 when every
benchmark ran, 1 otherwise (each failure is named on stderr).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
TEMPLATE = BENCH.parent

QUICK = {
    "decisions": ["--draws", "1", "--tasks", "classification"],
    "drift_detection": ["--champions", "1", "--batches", "1", "--training-rows", "1000"],
    "footprint": ["--quick"],
    "growth": ["--draws", "1", "--refreshes", "1", "--trials", "2", "--tasks", "classification"],
    "load": ["--clients", "1", "--runs", "1", "--backends", "sqlite"],
    "login_guard": ["--samples", "3"],
    "migrate_history": ["--metric-rows", "100"],
    "pr_minutes": ["--plan"],
    "predict_throughput": ["--sizes", "500", "1000"],
    "promote_profile": ["--quick"],
    "request_economy": ["--trials", "2", "--delays-ms", "0", "--repeat", "1"],
    "selection": ["--sizes", "200", "--repeat", "1", "--settle-s", "0"],
    "serve_latency": ["--requests", "40", "--clients", "2", "--poll-seconds", "0.5"],
    "verb_times": ["--repeat", "1"],
}
"""Each benchmark's smallest run that still goes through all of its code."""


def bake(into: Path) -> Path:
    """A default project with its locked environment, as `tools/dev_bake.sh` makes one."""
    tools = Path(sys.executable).parent
    subprocess.run(
        [str(tools / "cookiecutter"), "--no-input", "-o", str(into), str(TEMPLATE)],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    [project] = [path for path in into.iterdir() if path.is_dir()]
    sync = ["uv", "sync", "--frozen", "--quiet", "--extra", "server"]  # load runs PostgreSQL
    subprocess.run(sync, cwd=project, check=True)
    return project


def run(name: str, project: Path, quick: bool) -> bool:
    args = [str(project / ".venv" / "bin" / "python"), str(BENCH / f"{name}.py"), str(project)]
    args += QUICK[name] if quick else []
    print(f"\n## {name}\n", flush=True)
    started = time.monotonic()
    result = subprocess.run(args, cwd=TEMPLATE)
    print(f"\n({name}: {time.monotonic() - started:.0f} s)", flush=True)
    if result.returncode != 0:
        print(f"bench: {name} failed (exit {result.returncode})", file=sys.stderr)
    return result.returncode == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"some of {', '.join(QUICK)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a check, not figures")
    parser.add_argument("--project", type=Path, help="a baked project to reuse")
    args = parser.parse_args()
    names = args.names or list(QUICK)
    unknown = sorted(set(names) - set(QUICK))
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)} (there are {', '.join(QUICK)})")
    with tempfile.TemporaryDirectory(prefix="bench-bake-") as folder:
        project = args.project.resolve() if args.project else bake(Path(folder))
        failed = [name for name in names if not run(name, project, args.quick)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
