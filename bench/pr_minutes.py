"""Billable GitHub Actions minutes of one pull-request push: the `pull request check` job of the
generated ci.yml, replayed step by step on a copy of a baked project, for the two kinds of pull
request a team makes: one that changes only the team's own files (`mlops.toml`, data) and one
that changes the platform (`src/`).

Each `run:` step of the job runs as the runner runs it (bash -e, in a git checkout whose last
commit is the pull request's change), after a fresh `uv sync` into a new environment with uv's
cache warm, as setup-uv's cache leaves it. The two `uses:` steps (checkout, setup-uv) cannot run
offline and are not counted. GitHub bills a job in whole minutes, rounded up.

    tools/dev_bake.sh /tmp/bench-bake
    /tmp/bench-bake/team-model/.venv/bin/python bench/pr_minutes.py /tmp/bench-bake/team-model
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import yaml

FREE_MINUTES = 2000  # GitHub Free, private repositories, per month
IGNORED = (".venv", ".mlops", ".git", "__pycache__", ".pytest_cache", ".ruff_cache",
           ".mypy_cache", ".hypothesis")  # fmt: skip


def team_change(checkout: Path) -> None:
    """What most pull requests of a team change: a setting of its own."""
    config = checkout / "mlops.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("cv_folds = 5", "cv_folds = 4"))


def platform_change(checkout: Path) -> None:
    """A change of the platform's code: one more line in a module."""
    [errors] = checkout.glob("src/*/errors.py")
    errors.write_text(errors.read_text(encoding="utf-8") + "\n\n# a platform change\n")


CHANGES = {"team": team_change, "platform": platform_change}


def job_steps(project: Path) -> list[str]:
    """The `run:` steps of the pull request's job, in order."""
    workflow = yaml.safe_load((project / ".github" / "workflows" / "ci.yml").read_text())
    return [step["run"] for step in workflow["jobs"]["pull-request"]["steps"] if "run" in step]


def git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=bench@example.invalid", "-c", "user.name=bench",
                    *args], cwd=folder, check=True, capture_output=True)  # fmt: skip


def pull_request(project: Path, kind: str, into: Path) -> Path:
    """A checkout whose HEAD is the pull request's change on top of the project (HEAD^1)."""
    checkout = into / kind
    shutil.copytree(project, checkout, ignore=shutil.ignore_patterns(*IGNORED))
    git(checkout, "init", "-q", "-b", "main")
    git(checkout, "add", "-A")
    git(checkout, "commit", "-qm", "base")
    CHANGES[kind](checkout)
    git(checkout, "commit", "-qam", f"a {kind} change")
    return checkout


def replay(checkout: Path, steps: list[str]) -> list[float]:
    """Seconds of each step; a failing step stops the replay, as it fails the job."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    seconds = []
    for step in steps:
        started = time.monotonic()
        result = subprocess.run(["bash", "-e", "-c", step], cwd=checkout, env=env,
                                capture_output=True, text=True)  # fmt: skip
        seconds.append(time.monotonic() - started)
        if result.returncode != 0:
            failed = step.splitlines()[0]
            raise SystemExit(f"pr_minutes: `{failed}` failed:\n{result.stdout[-3000:]}"
                             f"{result.stderr[-2000:]}")  # fmt: skip
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path, help="a baked project")
    parser.add_argument("--kinds", nargs="+", choices=list(CHANGES), default=list(CHANGES))
    parser.add_argument("--plan", action="store_true", help="list the steps, run nothing")
    args = parser.parse_args()
    steps = job_steps(args.project)
    if args.plan:
        print("\n".join(f"- `{step.splitlines()[0]}`" for step in steps))
        return 0
    heads = [step.splitlines()[0][:48] for step in steps]
    print(f"| pull request | {' | '.join(heads)} | total | billable | pushes in {FREE_MINUTES:,} |")
    print(f"|---|{'---:|' * len(steps)}---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="bench-pr-") as folder:
        for kind in args.kinds:
            seconds = replay(pull_request(args.project, kind, Path(folder)), steps)
            billable = math.ceil(sum(seconds) / 60)
            cells = " | ".join(f"{s:.0f} s" for s in seconds)
            print(f"| {kind} | {cells} | {sum(seconds) / 60:.1f} min | {billable} min "
                  f"| {FREE_MINUTES // billable} |", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
