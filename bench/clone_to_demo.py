"""What a new teammate installs and waits for: the packages (and megabytes) a plain `uv sync`
puts in a fresh bake's environment, and the wall time from `git clone` to a finished
`uv run mlops demo` (environment creation, the demo's own server, two trainings, a promotion).

The bake is committed to a local git repository and cloned from there, as a teammate clones the
team's repository. `--cold` gives uv an empty cache, so every package is downloaded from PyPI
(a first machine); without it, uv's cache is the user's (a second project on the same laptop).
`--template` measures another checkout of the template, e.g. an older commit for a before/after:

    git -C . archive 747f5cc | (mkdir -p /tmp/before && tar -x -C /tmp/before)
    uv run python bench/clone_to_demo.py --template /tmp/before --cold
    uv run python bench/clone_to_demo.py --cold
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]


def bake(template: Path, out: Path) -> Path:
    """A default bake, committed: the repository a teammate clones."""
    subprocess.run([sys.executable, "-m", "cookiecutter", "--no-input", "-o", str(out),
                    str(template)], check=True, capture_output=True)  # fmt: skip
    project = next(out.iterdir())
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "bake"]):
        subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)
    return project


def clone_to_demo(repository: Path, clone: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(["git", "clone", "-q", str(repository), str(clone)], check=True)
    demo = subprocess.run(["uv", "run", "mlops", "demo"], cwd=clone, env=env,
                          capture_output=True, text=True)  # fmt: skip
    elapsed = time.perf_counter() - started
    if demo.returncode != 0:
        raise SystemExit(f"mlops demo exited {demo.returncode}: {demo.stderr[-2000:]}")
    return elapsed


def environment_size(clone: Path, env: dict[str, str]) -> tuple[int, float]:
    python = str(clone / ".venv" / "bin" / "python")
    listed = subprocess.run(["uv", "pip", "list", "--python", python], cwd=clone, env=env,
                            check=True, capture_output=True, text=True)  # fmt: skip
    packages = len(listed.stdout.splitlines()) - 2  # a header and a rule
    megabytes = sum(f.stat().st_size for f in (clone / ".venv").rglob("*") if f.is_file()) / 1e6
    return packages, megabytes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, default=TEMPLATE)
    parser.add_argument("--cold", action="store_true", help="an empty uv cache (all downloads)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
        if args.cold:
            env["UV_CACHE_DIR"] = str(root / "uv-cache")
        repository = bake(args.template, root / "bake")
        seconds = clone_to_demo(repository, root / "clone", env)
        packages, megabytes = environment_size(root / "clone", env)
        shutil.rmtree(root / "clone", ignore_errors=True)
    cache = "empty uv cache" if args.cold else "warm uv cache"
    print(f"| {args.template} | {cache} | {packages} | {megabytes:.0f} MB | {seconds:.0f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
