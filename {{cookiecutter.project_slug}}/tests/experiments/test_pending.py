"""A dead tunnel during `train`/`tune`: the run is kept on disk, then `mlops upload-pending`."""

import json
import os
import subprocess

import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.errors import BadInput, ServerUnavailable
from {{ cookiecutter.package_name }}.experiments import tune as tune_module
from {{ cookiecutter.package_name }}.experiments.pending import folders, load, upload_all
from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.experiments.tune import tune
from {{ cookiecutter.package_name }}.ml.data import load_split
from {{ cookiecutter.package_name }}.process import free_port
from {{ cookiecutter.package_name }}.tracking.datasets import holdout_digest
from {{ cookiecutter.package_name }}.tracking.tag_keys import (
    ATTEMPT_TAG,
    CANDIDATE_TAG,
    HAS_MODEL_TAG,
    HOLDOUT_DIGEST_TAG,
)

from ..central_pc_fixtures import MLOPS, config_for, project_env
from ..http_proxy import Proxy
from ..mixed_data import mixed_settings
from ..project import PLATFORM_CONFIG


@pytest.fixture(autouse=True)
def pending_dir(tmp_path, monkeypatch):
    """Saved runs go to a folder of this test; a failing call is not retried (fast tests)."""
    folder = tmp_path / "pending"
    monkeypatch.setenv("MLOPS_PENDING_DIR", str(folder))
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    return folder


@pytest.fixture
def dead_server(monkeypatch) -> str:
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    return url


def offline(settings, url: str):
    """The test's settings aimed at a dead server or a failing tunnel."""
    return settings.replace("tracking", uri=url)


def runs_of(settings, url):
    client = MlflowClient(url)
    experiment = client.get_experiment_by_name(settings.tracking.experiment)
    return [] if experiment is None else client.search_runs([experiment.experiment_id])


def assert_complete_candidate(run, settings) -> None:
    """FINISHED, with params, metrics, tags, both datasets and a logged model."""
    assert run.info.status == "FINISHED"
    assert settings.metric.primary in run.data.metrics
    assert set(settings.model.params) <= set(run.data.params)
    assert run.data.tags[CANDIDATE_TAG] == "true" and run.data.tags[HAS_MODEL_TAG] == "true"
    assert len(run.inputs.dataset_inputs) == 2
    models = MlflowClient(settings.tracking_uri).search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run.info.run_id}'",
    )
    assert len(models) == 1


def test_a_dead_server_keeps_the_run_until_upload(settings, as_admin, dead_server, monkeypatch):
    with pytest.raises(ServerUnavailable) as error:
        train(offline(settings, dead_server), {}, run_name="offline")
    message = str(error.value)
    assert "cannot reach the tracking server" in message and "mlops upload-pending" in message
    [folder] = folders(settings)
    assert str(folder) in message
    assert [oct(p.stat().st_mode & 0o777) for p in (folder, *folder.iterdir())] == (
        [oct(0o700)] + [oct(0o600)] * len(list(folder.iterdir()))
    ), "the team's rows are this OS user's only"
    saved = load(folder)
    assert saved.run_name == "offline" and saved.tags[HAS_MODEL_TAG] == "true"
    assert runs_of(settings, as_admin.url) == []

    [uploaded] = upload_all(settings)
    assert not folder.exists() and folders(settings) == []
    [run] = runs_of(settings, as_admin.url)
    assert run.info.run_id == uploaded.run_id and run.info.run_name == "offline"
    assert_complete_candidate(run, settings)
    assert run.data.tags["mlops.uploaded_from"] == folder.name
    assert run.data.metrics == saved.candidate.metrics


@pytest.mark.parametrize("how", ["502", "drop", "stall", "lost-answer"])
def test_a_run_cut_off_midway_is_failed_and_uploaded_again(settings, as_admin, monkeypatch, how):
    artifacts_down = lambda method, path, number: "mlflow-artifacts" in path  # noqa: E731
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")  # a stall ends in seconds, not 30
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    with (
        Proxy(as_admin.url, fail=artifacts_down, how=how) as tunnel,
        pytest.raises(ServerUnavailable),
    ):
        train(offline(settings, tunnel.url), {})
    [failed] = runs_of(settings, as_admin.url)
    assert failed.info.status == "FAILED"

    [uploaded] = upload_all(settings)
    runs = {run.info.run_id: run for run in runs_of(settings, as_admin.url)}
    assert set(runs) == {failed.info.run_id, uploaded.run_id}
    assert_complete_candidate(runs[uploaded.run_id], settings)


def gone_once_a_run_exists(runs: int = 1):
    """A tunnel that dies right after the server created `runs` runs (nothing can end them)."""
    created: list[int] = []

    def rule(method: str, path: str, number: int) -> bool:
        if len(created) >= runs:
            return True
        if path.endswith("/runs/create"):
            created.append(number)
        return False

    return rule


def test_a_run_left_running_is_closed_by_the_upload(settings, as_admin):
    with (
        Proxy(as_admin.url, fail=gone_once_a_run_exists()) as tunnel,
        pytest.raises(ServerUnavailable),
    ):
        train(offline(settings, tunnel.url), {})
    [orphan] = runs_of(settings, as_admin.url)
    assert orphan.info.status == "RUNNING"

    [uploaded] = upload_all(settings)
    client = MlflowClient(as_admin.url)
    assert client.get_run(orphan.info.run_id).info.status == "FAILED"
    assert client.get_run(uploaded.run_id).data.tags[ATTEMPT_TAG] == orphan.data.tags[ATTEMPT_TAG]


def test_a_tune_finds_a_dead_server_before_its_first_fit(settings, dead_server, monkeypatch):
    fitted = []
    monkeypatch.setattr(tune_module, "fit_trials", lambda *args: fitted.append(args))
    with pytest.raises(ServerUnavailable, match="cannot reach the tracking server"):
        tune(offline(settings, dead_server), trials=3, progress=False)
    assert not fitted and not folders(settings), "nothing computed, nothing saved"


def test_a_tune_whose_server_dies_comes_back_whole_and_once(settings, as_admin):
    """The parent and every trial are kept; an upload cut off midway leaves only failed
    fragments, and the next one logs the search whole: one finished parent, three children."""
    with (
        Proxy(as_admin.url, fail=gone_once_a_run_exists(2)) as tunnel,
        pytest.raises(ServerUnavailable, match="upload-pending"),
    ):
        tune(offline(settings, tunnel.url), trials=3, progress=False)
    [folder] = folders(settings)
    search = load(folder).search
    assert search is not None and [t.name for t in search.trials] == [
        "trial-1",
        "trial-2",
        "trial-3",
    ]
    with (
        Proxy(as_admin.url, fail=gone_once_a_run_exists(3)) as tunnel,
        pytest.raises(ServerUnavailable),
    ):
        upload_all(offline(settings, tunnel.url))
    assert folders(settings) == [folder], "kept until the server has everything"

    [uploaded] = upload_all(settings)
    runs = runs_of(settings, as_admin.url)
    finished = [run for run in runs if run.info.status == "FINISHED"]
    [parent] = [run for run in finished if run.info.run_id == uploaded.run_id]
    children = [
        run for run in finished if run.data.tags.get(MLFLOW_PARENT_RUN_ID) == parent.info.run_id
    ]
    assert len(finished) == 4 and sorted(c.info.run_name for c in children) == [
        "trial-1", "trial-2", "trial-3"]  # fmt: skip
    assert len(runs) == 4 + 2 + 3, "the tune's and the first upload's fragments, all FAILED"
    assert parent.data.params == search.params and parent.data.metrics == search.metrics
    [best] = [child for child in children if child.data.tags.get(HAS_MODEL_TAG) == "true"]
    assert parent.data.tags["mlops.best_run_id"] == best.info.run_id
    assert_complete_candidate(best, settings)
    assert upload_all(settings) == [] and folders(settings) == []


def test_two_uploads_at_once_send_each_run_once(
    settings, as_admin, dead_server, tmp_path, pending_dir
):
    """Two shells (or a shell and the notebook) run upload-pending together: both exit 0, every
    saved run reaches the server once, nothing is left behind."""
    for number in range(3):
        with pytest.raises(ServerUnavailable):
            train(offline(settings, dead_server), {}, run_name=f"offline-{number}")
    saved = [folder.name for folder in folders(settings)]
    env = project_env(
        MLOPS_CONFIG=str(config_for(as_admin, tmp_path, settings)),
        MLFLOW_TRACKING_URI=as_admin.url,
        MLFLOW_TRACKING_USERNAME="admin",
        MLFLOW_TRACKING_PASSWORD=as_admin.admin_password,
    )
    pipes = {"text": True, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "env": env}
    uploads = [subprocess.Popen([MLOPS, "upload-pending"], **pipes) for _ in range(2)]
    said = [upload.communicate(timeout=600) for upload in uploads]
    assert [upload.returncode for upload in uploads] == [0, 0], said
    runs = runs_of(settings, as_admin.url)
    assert sorted(run.data.tags["mlops.uploaded_from"] for run in runs) == sorted(saved)
    assert folders(settings) == [] and not list(pending_dir.glob(".*"))


def test_a_half_written_run_whose_writer_died_is_swept(settings, as_admin, pending_dir):
    dead, alive = (
        pending_dir / ".20240101-000000-abcdef.999999999.partial",
        pending_dir / (f".20240101-000000-fedcba.{os.getpid()}.partial"),
    )
    for partial in (dead, alive):
        partial.mkdir(parents=True)
        (partial / "run.json").write_text("{", encoding="utf-8")
    assert upload_all(settings) == []
    assert not dead.exists() and alive.exists(), "only a writer that is gone leaves a sweepable"


def test_the_commands_exit_3_then_0(as_admin, dead_server, monkeypatch, capsys):
    monkeypatch.setenv("MLOPS_CONFIG", str(PLATFORM_CONFIG))
    assert main(["train"]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "upload-pending" in err

    monkeypatch.setenv("MLFLOW_TRACKING_URI", as_admin.url)
    assert main(["upload-pending"]) == 0
    out = capsys.readouterr().out
    assert "uploaded" in out and f"{as_admin.url}/#/experiments/" in out
    assert main(["upload-pending"]) == 0
    assert "nothing to upload" in capsys.readouterr().out


def test_a_damaged_folder_is_bad_input_and_stays(settings, pending_dir, capsys, monkeypatch):
    damaged = pending_dir / "20240101-000000-abcdef"
    damaged.mkdir(parents=True)
    (damaged / "run.json").write_text(json.dumps({"format": 1}), encoding="utf-8")
    with pytest.raises(BadInput, match="damaged"):
        upload_all(settings)
    monkeypatch.setenv("MLOPS_CONFIG", str(PLATFORM_CONFIG))
    assert main(["upload-pending"]) == 2
    assert "damaged" in capsys.readouterr().err
    assert damaged.is_dir()


def test_a_mixed_csv_run_survives_the_round_trip_to_disk(
    settings, as_admin, dead_server, monkeypatch, tmp_path
):
    mixed = mixed_settings(settings, tmp_path)
    with pytest.raises(ServerUnavailable):
        train(offline(mixed, dead_server), {})
    [folder] = folders(mixed)
    saved = load(folder)
    pd.testing.assert_frame_equal(saved.split.x_test, load_split(mixed).x_test)
    [uploaded] = upload_all(mixed)
    [run] = runs_of(mixed, as_admin.url)
    assert run.info.run_id == uploaded.run_id
    assert_complete_candidate(run, mixed)
    assert run.data.tags[HOLDOUT_DIGEST_TAG] == holdout_digest(load_split(mixed))


def test_a_kept_run_keeps_its_pictures_and_uploads_them(settings, as_admin, dead_server):
    pictured = settings.replace("tracking", pictures=True)
    with pytest.raises(ServerUnavailable):
        train(offline(pictured, dead_server), {})
    [folder] = folders(settings)
    kept = sorted((folder / "pictures").iterdir())
    assert [p.name for p in kept] == ["overview.png", "report.html"]
    assert {oct(p.stat().st_mode & 0o777) for p in kept} == {oct(0o600)}
    assert oct((folder / "pictures").stat().st_mode & 0o777) == oct(0o700)
    [uploaded] = upload_all(settings)
    logged = MlflowClient(as_admin.url).list_artifacts(uploaded.run_id, "pictures")
    assert {item.path for item in logged} == {"pictures/overview.png", "pictures/report.html"}
