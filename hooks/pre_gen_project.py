"""Validate the answers before anything is written.

Cookiecutter deletes the half-made project folder when this hook exits non-zero, so a bad
answer leaves nothing behind. Each problem is reported as one line naming the answer and what
is allowed.
"""

import csv
import itertools
import json
import keyword
import math
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

ANSWERS = json.loads(r"""{{ cookiecutter | jsonify }}""")

PYTHON_VERSIONS = ("3.10", "3.11", "3.12", "3.13")
CHOICES = ANSWERS["_choices"]  # datasets and metrics; the package gets the same table
DATASETS = CHOICES["datasets"]
METRICS = CHOICES["metrics"]
TASKS = tuple(DATASETS)
TUNNELS = ("ngrok", "cloudflared", "none")
LICENSES = ("MIT", "Apache-2.0", "BSD-3-Clause", "Proprietary")
RESERVED_PACKAGES = {"mlflow", "sklearn", "pandas", "numpy", "tests", "test", "src", "mlops"}

SLUG = re.compile(r"^[a-z][a-z0-9]*([-_][a-z0-9]+)*$")
PACKAGE = re.compile(r"^[a-z_][a-z0-9_]*$")
OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MODEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,255}$")
HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
COLUMN = re.compile(r"^[^\x00-\x1f\"\\]{1,200}$")
CSV_SAMPLE_ROWS = 100_000
MAX_CLASSES_IF_FRACTIONAL = 20


class BadAnswer(Exception):
    def __init__(self, key, allowed):
        super().__init__(f"Invalid answer for {key}: {ANSWERS.get(key)!r}; {allowed}")


def check(condition, key, allowed):
    if not condition:
        raise BadAnswer(key, allowed)


def check_names(a):
    check(a["project_name"].strip(), "project_name", "give a non-empty name")
    check(
        SLUG.match(a["project_slug"]),
        "project_slug",
        "use lowercase letters and digits, separated by single - or _, starting with a letter",
    )
    package = a["package_name"]
    check(
        PACKAGE.match(package) and not keyword.iskeyword(package),
        "package_name",
        "use a valid Python identifier in lowercase (letters, digits, _), not a keyword",
    )
    check(
        package not in RESERVED_PACKAGES,
        "package_name",
        f"it would shadow a library or folder; avoid {', '.join(sorted(RESERVED_PACKAGES))}",
    )
    check(
        OWNER.match(a["github_owner"]),
        "github_owner",
        "use a GitHub user or organisation name (letters, digits, single -, at most 39)",
    )
    check(a["author"].strip() and "\n" not in a["author"], "author", "give a non-empty single line")
    check("\n" not in a["description"], "description", "give a single line")


def check_model(a):
    task = a["task"]
    check(
        a["python_version"] in PYTHON_VERSIONS,
        "python_version",
        f"allowed: {', '.join(PYTHON_VERSIONS)}",
    )
    check(task in TASKS, "task", f"allowed: {', '.join(TASKS)}")
    dataset = a["dataset"]
    if dataset.lower().endswith(".csv"):
        check(
            COLUMN.match(a["target_column"]),
            "target_column",
            "name the CSV column to predict (one line, no quotes or backslashes)",
        )
        if "_commit" not in a or csv_path(dataset).is_file():  # cruft re-renders elsewhere
            check_csv(a)
    else:
        check(
            dataset in DATASETS[task],
            "dataset",
            f"for {task} use one of {', '.join(DATASETS[task])}, or a path ending in .csv",
        )
    check(
        a["primary_metric"] in METRICS[task],
        "primary_metric",
        f"for {task} use one of {', '.join(METRICS[task])}",
    )
    check_threshold(a)


def csv_path(dataset):
    """A relative path is read from the folder cookiecutter was started in (the shell's PWD;
    hooks themselves run inside the new project), never from --output-dir."""
    given = Path(dataset).expanduser()
    if given.is_absolute():
        return given
    started_in = os.environ.get("PWD") or ANSWERS.get("_output_dir") or os.getcwd()
    return Path(started_in) / given


def read_csv_sample(path):
    """(header, rows) of the first rows, or the reason the file cannot be read as a CSV."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            rows = list(itertools.islice(reader, CSV_SAMPLE_ROWS))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return None, f"cannot be read as a UTF-8 CSV ({type(exc).__name__})"
    if not header:
        return None, "is empty"
    return (header, rows), None


def check_csv(a):
    """The CSV exists, reads, has the target column, and its target fits the task."""
    path, target = csv_path(a["dataset"]), a["target_column"]
    check(path.is_file(), "dataset", f"no CSV file at {path}")
    sample, problem = read_csv_sample(path)
    check(sample is not None, "dataset", f"{path} {problem}")
    header, rows = sample
    check(target in header, "target_column", f"not a column of {path.name} ({', '.join(header)})")
    check(rows, "dataset", f"{path} has a header but no rows")
    column = header.index(target)
    values = [row[column].strip() for row in rows if len(row) > column and row[column].strip()]
    check(values, "target_column", f"the column is empty in {path.name}")
    numbers = [as_number(value) for value in values]
    if a["task"] == "regression":
        text = next((v for v, n in zip(values, numbers, strict=True) if n is None), None)
        check(text is None, "task", f"the target {target!r} holds text ({text!r}): classification?")
        return
    check(len(set(values)) >= 2, "target_column", "it has one class only: nothing to classify")
    fractional = all(n is not None for n in numbers) and any(n % 1 for n in numbers)
    check(
        not (fractional and len(set(values)) > MAX_CLASSES_IF_FRACTIONAL),
        "task",
        f"the target {target!r} holds continuous numbers: use regression",
    )


def as_number(text):
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def check_threshold(a):
    text, metric = a["min_metric_value"].strip(), a["primary_metric"]
    if not text:
        return
    try:
        value = float(text)
    except ValueError:
        raise BadAnswer("min_metric_value", "give a number, or leave it empty") from None
    check(value == value and abs(value) != float("inf"), "min_metric_value", "give a finite number")
    low, high = CHOICES["metric_ranges"][metric]
    check(
        (low is None or value >= low) and (high is None or value <= high),
        "min_metric_value",
        f"{metric} {range_text(low, high)}",
    )


def range_text(low, high):
    """Said as the package's settings say it (`choices.range_text`)."""
    if low is not None and high is not None:
        return f"lies between {low:g} and {high:g}"
    return f"is never below {low:g}" if low is not None else f"is at most {high:g}"


def check_tracking(a):
    check(
        a["experiment_name"].strip() and "\n" not in a["experiment_name"],
        "experiment_name",
        "give a non-empty single line",
    )
    check(
        MODEL_NAME.match(a["registered_model_name"]),
        "registered_model_name",
        "use letters, digits, '.', '_', '-' or spaces (no '/', ':' or '@')",
    )
    uri = urlsplit(a["tracking_uri"])
    check(
        uri.scheme in ("http", "https") and uri.hostname and not uri.query,
        "tracking_uri",
        "give an http(s) URL such as http://127.0.0.1:5000",
    )
    check(
        not uri.username and not uri.password,
        "tracking_uri",
        "never put credentials in the URL; they go in MLFLOW_TRACKING_USERNAME/PASSWORD",
    )
    try:
        uri.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise BadAnswer("tracking_uri", "the port must be a number from 1 to 65535") from None
    check(a["tunnel"] in TUNNELS, "tunnel", f"allowed: {', '.join(TUNNELS)}")
    domain = a["tunnel_domain"]
    check(
        not domain or HOSTNAME.match(domain),
        "tunnel_domain",
        "give a bare host name such as team.ngrok-free.app (no https://), or leave it empty",
    )
    check(
        LABEL.match(a["runner_label"]) and a["runner_label"] != "self-hosted",
        "runner_label",
        "use letters, digits, '.', '_' or '-' (and not 'self-hosted', which every runner has)",
    )
    check(a["license"] in LICENSES, "license", f"allowed: {', '.join(LICENSES)}")


def main():
    try:
        for check_group in (check_names, check_model, check_tracking):
            check_group(ANSWERS)
    except BadAnswer as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
