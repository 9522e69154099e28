"""Finish the bake: drop unchosen options, bring in the CSV, lock, record where the template
came from (for `cruft update`), show the next steps."""

import csv
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ANSWERS = json.loads(r"""{{ cookiecutter | jsonify }}""")
PROJECT = Path.cwd()
CRUFT_SKIP = [".cruft.json", "uv.lock", "data"]
"""Never patched by `cruft update`: its record, the lock (`uv lock` after an update), the data."""
HOSTS = {
    "gh:": "https://github.com/",
    "gl:": "https://gitlab.com/",
    "bb:": "https://bitbucket.org/",
}


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
    source = started_in(dataset)
    if "_commit" in answers and not source.is_file():
        return  # re-rendered by `cruft update` elsewhere: data/ is the project's, never patched
    shutil.copyfile(source, project_csv(dataset))


def project_csv(dataset):
    """Where mlops.toml's `[data] source` points: data/<the file's name>."""
    return PROJECT / "data" / Path(dataset.replace("\\", "/")).name


ID_NAME = re.compile(r"(?:^|[\s_.-])(?:id|ids|number|no|num|nr|key|index|uuid)$|^id[\s_.-]", re.I)
"""The package's own rule (`data_checks.ID_NAME`; a template test keeps the two equal)."""
MIN_ROWS = 20


def name_ids(answers):
    """Columns the package's data checks would refuse as row ids go in `[data] id` at once:
    the split hashes them and they are never features, so the first `mlops train` runs."""
    dataset = answers["dataset"]
    if not dataset.lower().endswith(".csv"):
        return None
    table = project_csv(dataset)
    ids = likely_ids(table, answers["target_column"]) if table.is_file() else []
    if not ids:
        return None
    config = PROJECT / "mlops.toml"
    listed = json.dumps(ids)
    text = re.sub(r"(?m)^id = \[\]", f"id = {listed}", config.read_text(encoding="utf-8"), count=1)
    config.write_text(text, encoding="utf-8")
    return f"[data] id = {listed} in mlops.toml: unique in every row, so a row id, never a feature"


def likely_ids(table, target):
    """What `data_checks._id_like` says of each column: unique values with an id's name, or
    whole numbers counting the rows up by one."""
    with table.open(encoding="utf-8-sig", newline="") as handle:
        header, *rows = list(csv.reader(handle))
    ids = []
    for index, name in enumerate(header):
        values = [row[index].strip() for row in rows if len(row) > index and row[index].strip()]
        if name == target or len(values) < MIN_ROWS or len(set(values)) < len(values):
            continue
        if ID_NAME.search(name) or counts_up(values):
            ids.append(name)
    return ids


def counts_up(values):
    try:
        numbers = [float(value) for value in values]
    except ValueError:
        return False
    steps = {b - a for a, b in itertools.pairwise(numbers)}
    return all(n % 1 == 0 for n in numbers) and steps == {1.0}


def started_in(path):
    """A path the user gave, from the folder cookiecutter was started in (the hooks run in the
    new project)."""
    given = Path(path).expanduser()
    base = os.environ.get("PWD") or ANSWERS["_output_dir"]
    return given if given.is_absolute() else Path(base) / given


def template_source(answers):
    """Where `cruft update` fetches the template (a URL for gh:/gl:/bb:, else the template's
    folder, absolute) and the commit baked: the clone's HEAD (cruft's re-renders pass their
    own `_commit`)."""
    template = answers.get("_template", "")
    for short, host in HOSTS.items():
        if template.startswith(short):
            template = host + template[len(short) :].removesuffix(".git") + ".git"
    if "://" not in template and not template.startswith("git@"):
        template = str(started_in(template).resolve())
    clone = started_in(answers.get("_repo_dir") or template)
    return template, answers.get("_commit") or head_commit(clone)


def head_commit(folder):
    try:
        head = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=60)  # fmt: skip
    except OSError:  # no git on this machine
        return None
    return head.stdout.strip() if head.returncode == 0 else None


def record_template(answers):
    """`.cruft.json`, as `cruft create` writes it: the template, its commit and the answers."""
    template, commit = template_source(answers)
    if not commit:
        return "the template was not a git checkout: no .cruft.json, so no `cruft update`"
    context = {key: value for key, value in answers.items() if not key.startswith("_")}
    state = {
        "template": template, "commit": commit, "checkout": None, "directory": None,
        "context": {"cookiecutter": {**context, "_template": template, "_commit": commit}},
        "skip": CRUFT_SKIP,
    }  # fmt: skip
    (PROJECT / ".cruft.json").write_text(json.dumps(state, indent=2) + "\n", encoding="utf-8")
    return None


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
    quiet = ["--quiet", "--no-cache", "."]  # no .ruff_cache: cruft diffs whole renders
    for args in (["check", "--fix", "--select", "I", *quiet], ["format", *quiet]):
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
        "  uv sync                      # what training needs (tools: the groups in pyproject)",
        "  uv run mlops demo            # the whole lifecycle on a throw-away local server",
        "  uv run --group test pytest   # the project's tests",
        "  git init && git add -A && git commit -m 'Initial commit'",
        f"  then follow docs/central-pc.md: tracking server, tunnel, runner labelled '{label}'",
    ]
    print("\n".join(lines))


def main():
    prune_options(ANSWERS)
    bring_csv(ANSWERS)
    notes = [name_ids(ANSWERS), lock()]
    notes.append(wrap_long_lines())
    notes.append(record_template(ANSWERS))
    next_steps(ANSWERS, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
