"""`mlops monitor`: a batch from the training population passes, a shifted one fails naming
the shifted column first, labels that stopped following the model show as decay, and bad input
or a missing permission ends in one line without a record."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.registry.challenger import register_challenger
from {{ cookiecutter.package_name }}.registry.promotion import promote
from {{ cookiecutter.package_name }}.tracking.tag_keys import KIND_TAG, MONITOR_MODEL_TAG

from ..central_pc_fixtures import config_for, new_user, on_server, one_line_error, unique
from ..mixed_data import ID_COLUMN, TARGET, mixed_frame, write_mixed_csv
from ..project import with_changes

ROWS = 600


@pytest.fixture(scope="module")
def champion(platform_settings, tracking_server, tmp_path_factory):
    """A model trained on 1,500 rows of the team's mixed CSV and promoted; its config."""
    folder = tmp_path_factory.mktemp("monitor")
    settings = with_changes(
        platform_settings,
        tracking={"uri": tracking_server.url, "experiment": unique("monitor"), "pictures": False},
        model={"registered_name": unique("monitored")},
    )
    source = write_mixed_csv(folder, settings.task, rows=1_500)
    settings = (
        on_server(settings, tracking_server)
        .replace("data", source=str(source), target=TARGET, drop=[ID_COLUMN])
        .replace("promotion", min_value=None, confidence=0.0)
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", tracking_server.url)
        patch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
        patch.setenv("MLFLOW_TRACKING_PASSWORD", tracking_server.admin_password)
        train(settings, {})
        register_challenger(settings)
        assert promote(settings).passed
    config = config_for(tracking_server, folder, settings, source=str(source), target=TARGET,
                        drop=[ID_COLUMN])  # fmt: skip
    return settings, config


@pytest.fixture
def as_member(champion, as_admin, monkeypatch):
    settings, config = champion
    monkeypatch.setenv("MLOPS_CONFIG", str(config))
    return settings


def week(settings, seed: int = 11, rows: int = ROWS) -> pd.DataFrame:
    """New rows from the population the champion was trained on, with their outcome."""
    return mixed_frame(settings.task, rows, seed)


def monitor_runs(settings) -> list:
    client = MlflowClient()
    experiment = client.get_experiment_by_name(settings.tracking.experiment).experiment_id
    return client.search_runs([experiment], f"tags.`{KIND_TAG}` = 'monitor'")


def check(tmp_path, frame: pd.DataFrame, *args: str) -> int:
    source = tmp_path / "week.csv"
    frame.to_csv(source, index=False)
    return main(["monitor", str(source), *args])


def table_rows(out: str) -> list[str]:
    """The drift table's rows, first column only, in the order shown."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("column"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        rows.append(line.split()[0])
    return rows


def test_a_batch_like_the_training_data_passes_and_is_recorded(
    as_member, tmp_path, capsys, monkeypatch
):
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert check(tmp_path, week(as_member)) == 0
    out = capsys.readouterr().out
    assert "DRIFT" not in out and "DECAY" not in out
    assert "ok: " in out, "the target is there: the champion's score on it is shown"
    assert set(table_rows(out)) == {"tenure_months", "monthly_spend", "region", "promo",
                                    "(prediction)"}  # fmt: skip
    [run] = monitor_runs(as_member)
    assert run.data.tags[MONITOR_MODEL_TAG] == f"{as_member.model.registered_name} v1"
    assert run.data.metrics["alarm"] == 0 and run.data.metrics["rows"] == ROWS
    assert run.data.metrics["psi.monthly_spend"] < 0.1
    assert "### Monitor: No action" in summary.read_text(encoding="utf-8")


def test_a_shifted_column_fails_the_check_and_is_named_first(
    as_member, tmp_path, capsys, monkeypatch
):
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    frame = week(as_member, seed=12).drop(columns=[TARGET])
    frame["monthly_spend"] += 15.0  # one standard deviation
    assert check(tmp_path, frame, "--chunk-rows", "128") == 1
    out = capsys.readouterr().out
    assert table_rows(out)[0] == "monthly_spend"
    verdict = out.strip().splitlines()[-1]
    assert verdict.startswith("drift in monthly_spend") and "retrain" in verdict
    assert "ok: " not in out and "DECAY" not in out, "no target, no decay figure"
    job = summary.read_text(encoding="utf-8")
    assert "### Monitor: Retrain" in job and "| monthly_spend | DRIFT |" in job


def test_outcomes_that_stopped_following_the_model_are_decay(as_member, tmp_path, capsys):
    frame = week(as_member, seed=13)
    rng = np.random.default_rng(0)
    changed = rng.random(len(frame)) < 0.4
    if as_member.task == "classification":
        flipped = frame[TARGET].map({"yes": "no", "no": "yes"})
        frame[TARGET] = frame[TARGET].where(~changed, flipped)
    else:
        frame[TARGET] += np.where(changed, rng.normal(0, 40, len(frame)), 0.0)
    assert check(tmp_path, frame) == 1
    out = capsys.readouterr().out
    assert "DRIFT" not in out, "the inputs did not move"
    assert "DECAY: " in out and "decay: " in out.strip().splitlines()[-1]


BAD_INPUTS = {
    "a missing column": (lambda f: f.drop(columns=["region"]), "lacks column(s) the model needs"),
    "a wrong type": (
        lambda f: f.astype({"tenure_months": object}).assign(tenure_months="long"),
        "column 'tenure_months' must be double",
    ),
    "no rows": (lambda f: f.head(0), "holds no rows"),
}


@pytest.mark.parametrize("make, message", BAD_INPUTS.values(), ids=BAD_INPUTS)
def test_bad_input_is_one_line_exit_2_and_no_record(as_member, tmp_path, capsys, make, message):
    recorded = len(monitor_runs(as_member))
    assert check(tmp_path, make(week(as_member))) == 2
    assert message in one_line_error(capsys)
    assert len(monitor_runs(as_member)) == recorded


def test_outcomes_spelt_another_way_are_bad_input_not_decay(as_member, tmp_path, capsys):
    if as_member.task != "classification":
        pytest.skip("only classes have a spelling")
    frame = week(as_member).assign(**{TARGET: lambda f: f[TARGET].str.upper()})
    recorded = len(monitor_runs(as_member))
    assert check(tmp_path, frame) == 2
    error = one_line_error(capsys)
    assert f"column {TARGET!r} holds none of the classes the model learned ('no'" in error
    assert len(monitor_runs(as_member)) == recorded


def test_a_reader_checks_without_a_record(champion, as_admin, tmp_path, capsys, monkeypatch):
    settings, config = champion
    user, password = new_user(settings, "reader")
    for name, value in {"MLOPS_CONFIG": str(config), "MLFLOW_TRACKING_USERNAME": user,
                        "MLFLOW_TRACKING_PASSWORD": password}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    assert check(tmp_path, week(settings)) == 3
    assert "member" in one_line_error(capsys)
    assert check(tmp_path, week(settings), "--no-record") == 0
