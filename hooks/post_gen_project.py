"""Finish the bake: drop unchosen options, bring in the CSV, lock, show the next steps."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ANSWERS = json.loads(r"""{{ cookiecutter | jsonify }}""")
PROJECT = Path.cwd()


def remove(*relative_paths):
    for relative in relative_paths:
        path = PROJECT / relative
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def prune_options(answers):
    # both tunnel guides stay: `[tunnel] provider` can be switched later, and errors cite them
    if answers["license"] == "Proprietary":
        remove("LICENSE")
    if not answers["dataset"].lower().endswith(".csv"):
        remove("data")


def bring_csv(answers):
    """Copy the CSV named in the answers (checked by pre_gen_project) into data/, where
    mlops.toml expects it."""
    dataset = answers["dataset"]
    if not dataset.lower().endswith(".csv"):
        return
    given = Path(dataset).expanduser()
    started_in = os.environ.get("PWD") or answers["_output_dir"]  # as pre_gen_project checked
    source = given if given.is_absolute() else Path(started_in) / given
    target = PROJECT / "data" / Path(dataset.replace("\\", "/")).name
    shutil.copyfile(source, target)


def lock():
    """Pin exact versions with uv, so every machine installs the same environment."""
    if shutil.which("uv") is None:
        return "install uv, then run `uv lock` to pin the dependencies"
    result = subprocess.run(["uv", "lock", "--quiet"], capture_output=True, text=True, timeout=600)
    if result.returncode == 0:
        return None
    reason = next((line.strip() for line in result.stderr.splitlines() if line.strip()), "")
    if "interpreter" in reason.lower() or "no python" in reason.lower():
        version = ANSWERS["python_version"]
        return (
            f"`uv lock` found no Python {version} here: `uv python install {version}`, "
            "then run `uv lock`"
        )
    return f"`uv lock` failed ({reason[:200] or 'no reason given'}): fix that, then run `uv lock`"


def wrap_long_lines():
    """A package name longer than the template's pushes some import lines past the line length:
    the project's own ruff (the version uv.lock pins) wraps them, so a new project passes its own
    checks whatever its name. The template's own code is already formatted: a no-op there."""
    lock_file = PROJECT / "uv.lock"
    found = (
        re.search(r'name = "ruff"\nversion = "([^"]+)"', lock_file.read_text(encoding="utf-8"))
        if lock_file.is_file()
        else None
    )
    if found is None or shutil.which("uv") is None:
        return None
    ruff = ["uv", "tool", "run", "--from", f"ruff=={found.group(1)}", "ruff"]
    for args in (["check", "--fix", "--select", "I", "--quiet", "."], ["format", "--quiet", "."]):
        result = subprocess.run(ruff + args, capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            return "some lines are longer than ruff allows: run `uv run ruff format .`"
    return None


def next_steps(answers, notes):
    slug, label = answers["project_slug"], answers["runner_label"]
    lines = [
        f"Created {slug}.",
        *(f"Note: {note}" for note in notes if note),
        "Next steps:",
        f"  cd {slug}",
        "  uv sync                      # create the environment",
        "  uv run mlops demo            # the whole lifecycle on a throw-away local server",
        "  uv run pytest                # the project's tests",
        "  git init && git add -A && git commit -m 'Initial commit'",
        f"  then follow docs/central-pc.md: tracking server, tunnel, runner labelled '{label}'",
    ]
    print("\n".join(lines))


def main():
    prune_options(ANSWERS)
    bring_csv(ANSWERS)
    notes = [lock()]
    notes.append(wrap_long_lines())
    next_steps(ANSWERS, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
