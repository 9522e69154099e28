"""`mlops predict`: a team's mixed-type file scored by the verified champion, chunk by chunk,
into an output that appears whole or not at all, with a record of which model made it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.registry.challenger import register_challenger
from {{ cookiecutter.package_name }}.tracking.tag_keys import KIND_TAG, MODEL_FILES_DIGEST_TAG, PREDICT_MODEL_TAG

from ..central_pc_fixtures import (
    MLOPS,
    config_for,
    new_user,
    on_server,
    one_line_error,
    project_env,
    unique,
)
from ..mixed_data import ID_COLUMN, TARGET, mixed_frame, mixed_settings
from ..project import with_changes

ROWS = 400


@pytest.fixture(scope="module")
def champion(platform_settings, tracking_server, tmp_path_factory):
    """A model trained on the team's mixed CSV, registered and made champion; its config."""
    folder = tmp_path_factory.mktemp("predict")
    settings = with_changes(
        platform_settings,
        tracking={"uri": tracking_server.url, "experiment": unique("predict")},
        model={"registered_name": unique("predicted")},
    )
    settings = on_server(mixed_settings(settings, folder), tracking_server)
    settings = settings.replace("promotion", min_value=None)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", tracking_server.url)
        patch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
        patch.setenv("MLFLOW_TRACKING_PASSWORD", tracking_server.admin_password)
        train(settings, {})
        version = register_challenger(settings).version
        client = MlflowClient(tracking_uri=tracking_server.url)
        client.set_registered_model_alias(settings.model.registered_name, "champion", version)
    return settings, config_for(tracking_server, folder, settings)


@pytest.fixture
def as_member(champion, as_admin, monkeypatch):
    settings, config = champion
    monkeypatch.setenv("MLOPS_CONFIG", str(config))
    return settings


def batch(rows: int = ROWS, seed: int = 7) -> pd.DataFrame:
    """This week's customers: gaps, and a region training never saw."""
    frame = mixed_frame("classification", rows, seed).drop(columns=[TARGET])
    frame.loc[3, "region"] = "atlantis"
    frame.loc[5, "tenure_months"] = np.nan
    return frame


def reference(settings, frame: pd.DataFrame) -> np.ndarray:
    """MLflow's own scoring path, the one `mlflow models serve` takes."""
    uri = f"models:/{settings.model.registered_name}@champion"
    return np.asarray(mlflow.pyfunc.load_model(uri).predict(frame.drop(columns=[ID_COLUMN])))


def files(folder) -> list[str]:
    """What a run left in the folder (the tests' model cache lives there too)."""
    return sorted(p.name for p in folder.iterdir() if p.name != "model-cache")


def predict_runs(settings) -> list:
    client = MlflowClient()
    experiment = client.get_experiment_by_name(settings.tracking.experiment).experiment_id
    return client.search_runs([experiment], f"tags.`{KIND_TAG}` = 'predict'")


def test_a_mixed_csv_is_scored_by_the_verified_champion_in_chunks(
    as_member, tmp_path, capsys, monkeypatch
):
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))  # as in a workflow's job
    frame = batch()
    source, output = tmp_path / "week.csv", tmp_path / "scored.csv"
    frame.to_csv(source, index=False)
    proba = ["--proba"] if as_member.task == "classification" else []
    args = ["predict", str(source), "-o", str(output), "--keep", ID_COLUMN, "--chunk-rows", "64"]
    assert main([*args, *proba]) == 0
    scored = pd.read_csv(output)
    assert list(scored[ID_COLUMN]) == list(frame[ID_COLUMN]), "every row, in order"
    expected = reference(as_member, frame)
    if as_member.task == "classification":
        assert list(scored["prediction"].astype(str)) == list(expected.astype(str))
        shares = scored.filter(like="proba_").sum(axis=1)
        assert np.allclose(shares, 1.0) and len(scored.filter(like="proba_").columns) >= 2
    else:
        assert np.allclose(scored["prediction"], expected, rtol=1e-9)
    facts = json.loads((tmp_path / "scored.csv.model.json").read_text(encoding="utf-8"))
    version = MlflowClient().get_model_version(as_member.model.registered_name, "1")
    assert facts["version"] == "1" and facts["alias"] == "champion" and facts["rows"] == ROWS
    assert facts["model_files_sha256"] == version.tags[MODEL_FILES_DIGEST_TAG]
    [run] = [r for r in predict_runs(as_member) if r.info.run_id == facts["run_id"]]
    assert run.data.metrics["rows"] == ROWS and run.info.status == "FINISHED"
    assert run.data.tags[PREDICT_MODEL_TAG] == f"{as_member.model.registered_name} v1 (champion)"
    assert "400 rows scored by" in capsys.readouterr().out
    job = summary.read_text(encoding="utf-8")
    digest = version.tags[MODEL_FILES_DIGEST_TAG][:12]
    assert f"| {as_member.model.registered_name} | 1 | `{digest}` | 400 |" in job
    shown = "prediction_mean" if as_member.task == "regression" else str(expected[0])
    assert f"| {shown} |" in job, "the distribution of what was predicted"


def test_parquet_in_and_out_gives_the_same_predictions(as_member, tmp_path):
    frame = batch()
    frame.to_parquet(tmp_path / "week.parquet", index=False)
    frame.to_csv(tmp_path / "week.csv", index=False)
    for name in ("week.parquet", "week.csv"):
        out = tmp_path / f"{name}.out.parquet"
        assert main(["predict", str(tmp_path / name), "-o", str(out), "--no-record"]) == 0
    from_parquet = pd.read_parquet(tmp_path / "week.parquet.out.parquet")
    from_csv = pd.read_parquet(tmp_path / "week.csv.out.parquet")
    pd.testing.assert_frame_equal(from_parquet, from_csv)
    assert len(from_parquet) == ROWS


def _without(column: str):
    return lambda frame: frame.drop(columns=[column])


def _bad_cell(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype({"tenure_months": object})
    frame.loc[69, "tenure_months"] = "twelve"
    return frame


BAD_INPUTS = {
    "a missing column": (_without("region"), "week.csv", "lacks column(s) the model needs: region"),
    "a wrong type": (_bad_cell, "week.csv", "column 'tenure_months' must be double: row 70 holds"),
    "no rows": (lambda frame: frame.head(0), "week.csv", "holds no rows"),
    "not a table": (None, "week.parquet", "cannot read input week.parquet"),
    "another format": (lambda frame: frame, "week.json", "use a .csv or .parquet file"),
}


@pytest.mark.parametrize("make, name, message", BAD_INPUTS.values(), ids=BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_and_nothing_written(
    as_member, tmp_path, capsys, make, name, message
):
    source, output = tmp_path / name, tmp_path / "scored.csv"
    if make is None:
        source.write_bytes(b"PAR1 this is not parquet")
    else:
        make(batch()).to_csv(source, index=False)
    recorded = len(predict_runs(as_member))
    assert main(["predict", str(source), "-o", str(output), "--chunk-rows", "50"]) == 2
    assert message in one_line_error(capsys)
    assert files(tmp_path) == [name], "no output, no partial file"
    assert len(predict_runs(as_member)) == recorded, "no record of a batch never scored"


def test_a_failed_run_keeps_the_earlier_output(as_member, tmp_path, capsys):
    source, output = tmp_path / "week.csv", tmp_path / "scored.csv"
    batch().to_csv(source, index=False)
    assert main(["predict", str(source), "-o", str(output), "--no-record"]) == 0
    before = output.read_bytes(), (tmp_path / "scored.csv.model.json").read_bytes()
    late = batch(ROWS + 200)
    late = late.astype({"monthly_spend": object})
    late.loc[ROWS + 150, "monthly_spend"] = "lots"  # in the last chunk: earlier ones are written
    late.to_csv(source, index=False)
    assert main(["predict", str(source), "-o", str(output), "--chunk-rows", "100"]) == 2
    assert f"row {ROWS + 151} holds 'lots'" in one_line_error(capsys)
    assert (output.read_bytes(), (tmp_path / "scored.csv.model.json").read_bytes()) == before
    assert not list(tmp_path.glob(".*partial*"))


@pytest.mark.parametrize(
    "args, message",
    [
        (["-o", "{missing}/scored.csv"], "output folder"),
        (["-o", "{source}"], "would overwrite the input"),
        (["-o", "{out}", "--keep", "nope"], "--keep: the input has no column nope"),
        (["-o", "{out}", "--version", "99"], "has no version 99"),
        (["-o", "{out}", "--alias", "previous-champion"], "has no previous-champion yet"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_written(
    as_member, tmp_path, capsys, args, message
):
    source = tmp_path / "week.csv"
    batch().to_csv(source, index=False)
    values = {"missing": tmp_path / "nope", "source": source, "out": tmp_path / "scored.csv"}
    assert main(["predict", str(source), *[a.format(**values) for a in args]]) == 2
    assert message in one_line_error(capsys)
    assert files(tmp_path) == ["week.csv"]


def test_a_reader_scores_without_a_record_and_is_told_what_a_record_needs(
    champion, as_admin, tmp_path, capsys, monkeypatch
):
    settings, config = champion
    user, password = new_user(settings, "reader")
    for name, value in {"MLOPS_CONFIG": str(config), "MLFLOW_TRACKING_USERNAME": user,
                        "MLFLOW_TRACKING_PASSWORD": password}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    source, output = tmp_path / "week.csv", tmp_path / "scored.csv"
    batch().to_csv(source, index=False)
    assert main(["predict", str(source), "-o", str(output)]) == 3
    assert "member" in one_line_error(capsys)
    assert files(tmp_path) == ["week.csv"]
    assert main(["predict", str(source), "-o", str(output), "--no-record"]) == 0
    assert len(pd.read_csv(output)) == ROWS


def test_a_killed_run_leaves_no_output_and_the_next_one_sweeps_its_partial(
    champion, tracking_server, tmp_path
):
    config = champion[1]
    source, output = tmp_path / "big.csv", tmp_path / "scored.csv"
    pd.concat([batch()] * 250, ignore_index=True).to_csv(source, index=False)  # 100,000 rows
    env = project_env(MLOPS_CONFIG=str(config), MLFLOW_TRACKING_URI=tracking_server.url,
                      MLFLOW_TRACKING_USERNAME="admin",
                      MLFLOW_TRACKING_PASSWORD=tracking_server.admin_password)  # fmt: skip
    args = ["predict", str(source), "-o", str(output), "--chunk-rows", "500"]
    child = subprocess.Popen([MLOPS, *args], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while not list(tmp_path.glob(".scored.csv.partial-*")):
            assert child.poll() is None and time.monotonic() < deadline, "it never started writing"
            time.sleep(0.05)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert not output.exists(), "a killed run leaves no output"
    assert list(tmp_path.glob(".scored.csv.partial-*")), "(its partial file is left to sweep)"
    done = subprocess.run([MLOPS, *args, "--no-record"], env=env, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert not list(tmp_path.glob(".scored.csv.partial-*")) and output.exists()
