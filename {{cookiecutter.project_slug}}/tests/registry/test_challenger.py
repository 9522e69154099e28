"""register-challenger against a real registry: the best run by its validation score, once."""

import re
import subprocess

import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.errors import BadInput
from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.metric_names import validation_metric
from {{ cookiecutter.package_name }}.registry.challenger import register_challenger
from {{ cookiecutter.package_name }}.registry.rollback import rollback
from {{ cookiecutter.package_name }}.tracking.model_registry import CHALLENGER

from ..central_pc_fixtures import MLOPS, config_for, one_line_error, project_env
from ..project import with_changes
from ..registry_state import version_of


def test_the_best_run_is_registered_once_and_tagged(settings, as_admin):
    result = train(settings, {})
    first = register_challenger(settings)
    again = register_challenger(settings)
    assert first.created and not again.created
    assert first.version == again.version == version_of(settings, CHALLENGER)
    client = MlflowClient()
    versions = client.search_model_versions(f"name = '{settings.model.registered_name}'")
    assert len(versions) == 1
    tags = versions[0].tags
    assert tags["mlops.source_run"] == result.run_id
    ranked_by = validation_metric(settings.metric.primary)
    assert float(tags[f"mlops.metric.{ranked_by}"]) == pytest.approx(result.metrics[ranked_by])
    assert {"mlops.git_commit", "mlops.holdout_digest", "mlops.uv_lock_sha256"} <= set(tags)
    assert versions[0].source.startswith("models:/m-")


def test_a_dry_run_changes_nothing(settings, as_admin):
    train(settings, {})
    decision = register_challenger(settings, dry_run=True)
    assert decision.dry_run and decision.version is None
    assert version_of(settings, CHALLENGER) is None


def test_a_candidate_below_min_value_is_refused(settings, as_admin):
    train(settings, {})
    unreachable = 2.0 if settings.metric.greater_is_better else -1.0
    refused = register_challenger(settings, min_value=unreachable)
    assert re.match(r"no candidate reaches .*\[promotion\] min_value", refused.refusal or "")
    assert refused.version is None and version_of(settings, CHALLENGER) is None


def test_the_workflow_run_is_recorded_in_actions(settings, as_admin, monkeypatch):
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "{{ cookiecutter.github_owner }}/x")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    train(settings, {})
    version = register_challenger(settings).version
    tags = MlflowClient().get_model_version(settings.model.registered_name, version).tags
    assert tags["mlops.workflow_run"] == "https://github.com/{{ cookiecutter.github_owner }}/x/actions/runs/42"


def test_an_experiment_that_does_not_exist_is_bad_input(settings, as_admin):
    missing = with_changes(settings, tracking={"experiment": "never-created-here"})
    with pytest.raises(BadInput, match="does not exist"):
        register_challenger(missing)


def test_each_decision_is_reported_in_the_job_summary(settings, as_admin, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = train(settings, {})
    register_challenger(settings)
    unreachable = 2.0 if settings.metric.greater_is_better else -1.0
    assert register_challenger(settings, min_value=unreachable).refusal
    with pytest.raises(BadInput):
        rollback(settings)
    text = summary.read_text(encoding="utf-8")
    assert "## Register challenger" in text and f"`{result.run_id}`" in text
    assert "## Register challenger: refused" in text and "no candidate reaches" in text


@pytest.mark.central_pc
def test_concurrent_register_challenger_processes_register_the_run_once(
    settings, as_admin, tmp_path
):
    result = train(settings, {})
    config = config_for(as_admin, tmp_path, settings)
    env = project_env(
        MLOPS_CONFIG=str(config),
        MLFLOW_TRACKING_URI=as_admin.url,
        MLFLOW_TRACKING_USERNAME="admin",
        MLFLOW_TRACKING_PASSWORD=as_admin.admin_password,
    )
    processes = [
        subprocess.Popen(
            [MLOPS, "register-challenger"],
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=300) for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], outputs
    versions = MlflowClient().search_model_versions(f"name = '{settings.model.registered_name}'")
    assert [v.run_id for v in versions] == [result.run_id]
    assert version_of(settings, CHALLENGER) == versions[0].version


def test_the_command_refused_by_min_value_exits_1_in_one_line(settings, as_admin, tmp_path, capsys):
    """As promote does when a gate says no: exit 1, the reason on one line, nothing moved."""
    train(settings, {})
    unreachable = "2.0" if settings.metric.greater_is_better else "-1.0"
    config = config_for(as_admin, tmp_path, settings)
    capsys.readouterr()  # MLflow's own log of the training run
    assert main(["--config", str(config), "register-challenger", "--min-value", unreachable]) == 1
    assert "no candidate reaches" in one_line_error(capsys)
    assert version_of(settings, CHALLENGER) is None
