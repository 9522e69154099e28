"""`mlops server gc` on a server of its own: deleted runs and old unregistered models go, with
their files; the registered model stays intact and verifiable."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from {{ cookiecutter.package_name }}.central_pc.tracking_server import ServerPaths
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.registry.challenger import register_challenger
from {{ cookiecutter.package_name }}.tracking.model_files import fetch_verified
from {{ cookiecutter.package_name }}.tracking.model_registry import CHALLENGER

from ..central_pc_fixtures import (
    MLOPS,
    client_as,
    config_for,
    one_line_error,
    process_running,
    project_env,
    server_of_its_own,
)


def model_folder(paths: ServerPaths, experiment_id: str, model_id: str):
    return paths.artifacts_dir / experiment_id / "models" / model_id


def test_gc_lists_then_frees_only_what_nobody_uses(settings, tmp_path, monkeypatch, capsys):
    with server_of_its_own(settings, tmp_path, monkeypatch) as (server, team, client):
        paths, password = server.paths, server.admin_password
        knob = next(iter(team.model.params))  # C or alpha: the baked task's first parameter
        runs = [train(team, {knob: value}).run_id for value in (0.01, 1.0, 100.0)]
        version = client.get_model_version(
            team.model.registered_name, register_challenger(team).version
        )
        kept = version.source.removeprefix("models:/")
        deleted = next(run for run in runs if run != version.run_id)
        client.delete_run(deleted)
        models = {m.model_id: m.experiment_id for m in client.search_logged_models(
            experiment_ids=[client.get_run(runs[0]).info.experiment_id])}  # fmt: skip
        stale = {m: e for m, e in models.items() if m != kept}
        monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")  # the admin from the data dir
        monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD")
        config = config_for(server, tmp_path / "config", team)
        gc = ["--config", str(config), "server", "gc", "--older-than-days", "0"]

        assert main(gc) == 0
        assert "would remove 1 deleted runs and 2 unregistered models" in capsys.readouterr().out
        assert all(model_folder(paths, e, m).is_dir() for m, e in stale.items()), "a dry run"

        assert main([*gc, "--apply"]) == 0
        assert "removed 1 deleted runs and 2 unregistered models" in capsys.readouterr().out
        left = [p for m, e in stale.items() for p in model_folder(paths, e, m).rglob("*")]
        assert not left, left
        assert model_folder(paths, models[kept], kept).is_dir()
        client = client_as(monkeypatch, server.url, "admin", password)
        with pytest.raises(MlflowException):
            client.get_run(deleted)
        champion = client.get_model_version_by_alias(team.model.registered_name, CHALLENGER)
        fetch_verified(team.model.registered_name, champion, tmp_path / "check", cached=False)

        monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")
        monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD")
        assert main([*gc, "--apply"]) == 0
        assert "nothing to remove" in capsys.readouterr().out
        assert main([*gc[:-2], "--older-than-days", "-1"]) == 2
        assert "--older-than-days" in one_line_error(capsys)


def the_gc_child(backend: str) -> int | None:
    return process_running(lambda argv: b"gc" in argv and backend.encode() in argv)


@pytest.mark.parametrize("victim", ["the command", "its mlflow gc"])
def test_a_gc_killed_midway_is_finished_by_the_next(settings, tmp_path, monkeypatch, victim):
    """kill -9 while MLflow deletes: MLflow's child dies with the command, the registered model
    is whole, and the next `gc --apply` removes what the killed one left."""
    with server_of_its_own(settings, tmp_path, monkeypatch) as (server, team, client):
        knob = next(iter(team.model.params))
        runs = [train(team, {knob: value}).run_id for value in (0.01, 100.0)]
        version = client.get_model_version(
            team.model.registered_name, register_challenger(team).version
        )
        for run in runs:
            if run != version.run_id:
                client.delete_run(run)
        monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")
        monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD")
        config = config_for(server, tmp_path / "config", team)
        gc = [MLOPS, "--config", str(config), "server", "gc", "--older-than-days", "0", "--apply"]
        backend = f"sqlite:///{server.paths.backend_db.as_posix()}"
        command = subprocess.Popen(gc, env=project_env(), stdout=subprocess.PIPE, text=True)
        deadline, child = time.monotonic() + 300, None
        while child is None and command.poll() is None and time.monotonic() < deadline:
            child = the_gc_child(backend)
            time.sleep(0.05)
        assert child is not None, "gc never reached mlflow gc"
        time.sleep(1.0)  # MLflow is importing or deleting
        os.kill(command.pid if victim == "the command" else child, signal.SIGKILL)
        command.communicate(timeout=120)
        for _ in range(20):  # the kernel ends the orphan with its parent (PR_SET_PDEATHSIG)
            if the_gc_child(backend) is None:
                break
            time.sleep(0.1)
        assert the_gc_child(backend) is None, "mlflow gc outlived the command"

        rerun = subprocess.run(gc, env=project_env(), capture_output=True, text=True, timeout=600)
        assert rerun.returncode == 0, rerun.stderr
        again = subprocess.run(gc, env=project_env(), capture_output=True, text=True, timeout=600)
        assert "nothing to remove" in again.stdout, again.stdout + again.stderr
        client = client_as(monkeypatch, server.url, "admin", server.admin_password)
        assert [run.info.run_id for run in client.search_runs(
            [client.get_run(version.run_id).info.experiment_id], run_view_type=ViewType.ALL
        )] == [version.run_id]  # fmt: skip
        fetch_verified(team.model.registered_name, version, tmp_path / "check", cached=False)
