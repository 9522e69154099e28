"""A team's own mixed-type CSV, for each task, through the `mlops` command of a real bake:
the bake names the id column in `[data] id` (without it, train refuses it with the fix named),
then train, tune, register, promote, and the served champion answers raw rows with missing
values and a category never seen in training, then `mlops predict` scores a week of new rows.
Its pipeline holds a step the team wrote, a class in a new file of `ml/`
(`team_edits.add_a_feature_step`): trusted because it is the room's."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from .bakery import bake, project_environment, tool
from .servers import running_server
from .team_csv import write_team_csv
from .team_edits import add_a_feature_step

pytestmark = pytest.mark.slow
RAW_ROWS = {
    "columns": ["tenure_months", "monthly_spend", "region", "promo"],
    "data": [[12.0, None, "east", True], [None, 40.0, None, False], [30.5, 55.0, "atlantis", True]],
}


@pytest.fixture(scope="module", params=["classification", "regression"])
def project(request, tmp_path_factory):
    task = request.param
    root = tmp_path_factory.mktemp(f"team-csv-{task}")
    csv_file = write_team_csv(root / "customers.csv", task)
    metric = {"primary_metric": "rmse"} if task == "regression" else {}
    bake_ = bake(root / "bake", task=task, dataset=str(csv_file), target_column="outcome",
                 min_metric_value="", **metric)  # fmt: skip
    add_a_feature_step(bake_.path)  # the team's own class in ml/: trained, promoted and served
    with running_server(bake_, root / "server") as server:
        yield bake_, server


def mlops(project, *args):
    bake_, server = project
    return bake_.run(tool("uv"), "run", "--frozen", "mlops", *args, env=server.env(),
                     check=False, timeout=600)  # fmt: skip


def test_the_id_column_is_named_at_bake_then_the_lifecycle_runs(project):
    bake_ = project[0]
    config = bake_.path / "mlops.toml"
    named = config.read_text(encoding="utf-8")
    assert '\nid = ["customer_id"]' in named
    config.write_text(named.replace('id = ["customer_id"]', "id = []", 1), encoding="utf-8")
    refused = mlops(project, "train")
    assert refused.returncode == 2
    assert "column 'customer_id' looks like a row id" in refused.stderr
    assert "add id = ['customer_id']" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1

    config.write_text(named, encoding="utf-8")
    for verb in (["train"], ["tune", "--trials", "3"], ["register-challenger"], ["promote"]):
        result = mlops(project, *verb)
        assert result.returncode == 0, f"{verb}: {result.stderr}"
    assert "cv_" in mlops(project, "status").stdout

    predictions = served_predictions(project)
    assert len(predictions) == 3
    if bake_.answers["task"] == "classification":
        assert set(predictions) <= {"yes", "no"}
    scored_in_batch(project)


def scored_in_batch(project) -> None:
    """This week's customers (new rows, with gaps) scored by `mlops predict`, from CSV and from
    Parquet; a file missing a column is refused in one line with nothing written."""
    bake_ = project[0]
    week = write_team_csv(bake_.path / "week" / "customers.csv", bake_.answers["task"], 120, 9)
    header, *rows = read_rows(week)
    write_rows(week, [header[:-1], *(row[:-1] for row in rows)])  # no outcome: it is to predict
    to_parquet = "import pandas as p, sys; p.read_csv(sys.argv[1]).to_parquet(sys.argv[2])"
    parquet = week.with_suffix(".parquet")
    bake_.run(
        str(bake_.path / ".venv" / "bin" / "python"), "-c", to_parquet, str(week), str(parquet)
    )
    for source in (week, parquet):
        out = source.with_name(f"scored-{source.suffix[1:]}.csv")
        result = mlops(project, "predict", str(source), "-o", str(out), "--keep", "customer_id")
        assert result.returncode == 0, result.stderr
        scored_header, *scored = read_rows(out)
        assert scored_header == ["customer_id", "prediction"]
        assert [row[0] for row in scored] == [row[0] for row in rows] and all(r[1] for r in scored)
    region = header.index("region")
    write_rows(week, [[c for i, c in enumerate(row) if i != region] for row in [header, *rows]])
    refused = mlops(project, "predict", str(week), "-o", str(week.with_name("none.csv")))
    assert refused.returncode == 2 and "lacks column(s) the model needs: region" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not week.with_name("none.csv").exists()


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)


def served_predictions(project) -> list:
    """`mlops serve` in the foreground, as on the central PC; one request of raw rows."""
    bake_, server = project
    port = free_port()
    process = subprocess.Popen(
        [tool("uv"), "run", "--frozen", "mlops", "serve", "--port", str(port)],
        cwd=bake_.path, env={**project_environment(), **server.env()},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        preexec_fn=ctrl_c_works,
    )  # fmt: skip
    try:
        wait_for_ping(f"http://127.0.0.1:{port}", process)
        response = requests.post(
            f"http://127.0.0.1:{port}/invocations", json={"dataframe_split": RAW_ROWS}, timeout=60
        )
        assert response.status_code == 200, response.text
        return response.json()["predictions"]
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGTERM)  # stops the scoring server too, then exits
            process.wait(timeout=60)
            raise AssertionError("mlops serve ignored Ctrl-C for 60 s") from None


def ctrl_c_works() -> None:
    """As in a terminal: a test run started in the background (`cmd &`) has SIGINT ignored,
    and a child inherits that, so Ctrl-C would never reach `mlops serve`."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def wait_for_ping(url: str, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"mlops serve exited {process.returncode}: {process.stdout.read()}"
            )
        try:
            if requests.get(f"{url}/ping", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise AssertionError("mlops serve did not answer /ping")


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
