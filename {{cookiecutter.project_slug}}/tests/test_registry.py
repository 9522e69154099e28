"""register-challenger, rollback and status against a real registry."""

import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.errors import BadInput, GateRefused
from {{ cookiecutter.package_name }}.registry import (
    CHALLENGER,
    CHAMPION,
    PREVIOUS,
    register_challenger,
    rollback,
    status,
)
from {{ cookiecutter.package_name }}.train import train

from .conftest import with_changes


def alias(settings, name):
    client = MlflowClient()
    try:
        return client.get_model_version_by_alias(settings.model.registered_name, name).version
    except Exception:
        return None


def test_the_best_run_is_registered_once_and_tagged(settings, as_admin):
    result = train(settings, {})
    first = register_challenger(settings)
    again = register_challenger(settings)
    assert first.created and not again.created
    assert first.version == again.version == alias(settings, CHALLENGER)
    client = MlflowClient()
    versions = client.search_model_versions(f"name = '{settings.model.registered_name}'")
    assert len(versions) == 1
    tags = versions[0].tags
    assert tags["mlops.source_run"] == result.run_id
    assert float(tags[f"mlops.metric.{settings.metric.primary}"]) == pytest.approx(
        result.metrics[settings.metric.primary]
    )
    assert {"mlops.git_commit", "mlops.holdout_digest", "mlops.uv_lock_sha256"} <= set(tags)
    assert versions[0].source.startswith("models:/m-")


def test_a_dry_run_changes_nothing(settings, as_admin):
    train(settings, {})
    decision = register_challenger(settings, dry_run=True)
    assert decision.dry_run and decision.version is None
    assert alias(settings, CHALLENGER) is None


def test_a_candidate_below_min_value_is_refused(settings, as_admin):
    train(settings, {})
    unreachable = 2.0 if settings.metric.greater_is_better else -1.0
    with pytest.raises(GateRefused, match="no candidate reaches"):
        register_challenger(settings, min_value=unreachable)
    assert alias(settings, CHALLENGER) is None


def test_the_workflow_run_is_recorded_in_actions(settings, as_admin, monkeypatch):
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    monkeypatch.setenv("GITHUB_REPOSITORY", "{{ cookiecutter.github_owner }}/x")
    monkeypatch.setenv("GITHUB_RUN_ID", "42")
    train(settings, {})
    version = register_challenger(settings).version
    tags = MlflowClient().get_model_version(settings.model.registered_name, version).tags
    assert tags["mlops.workflow_run"] == "https://github.com/{{ cookiecutter.github_owner }}/x/actions/runs/42"


def test_rollback_needs_a_previous_champion(settings, as_admin):
    with pytest.raises(BadInput, match="nothing to roll back to"):
        rollback(settings)


def test_rollback_restores_the_previous_champion_once(settings, as_admin):
    train(settings, {})
    version = register_challenger(settings).version
    client, name = MlflowClient(), settings.model.registered_name
    source = client.get_model_version(name, version).source
    newer = client.create_model_version(name, source, model_id=source.removeprefix("models:/"))
    client.set_registered_model_alias(name, CHAMPION, newer.version)
    client.set_registered_model_alias(name, PREVIOUS, version)
    assert rollback(settings, dry_run=True).startswith("would move")
    assert alias(settings, CHAMPION) == newer.version
    rollback(settings)
    assert alias(settings, CHAMPION) == version and alias(settings, PREVIOUS) is None
    with pytest.raises(BadInput):
        rollback(settings)


def test_status_lists_every_alias(settings, as_admin):
    train(settings, {})
    version = register_challenger(settings).version
    text = status(settings)
    lines = {line.split()[0]: line.split()[1] for line in text.splitlines()[3:]}
    assert lines == {CHAMPION: "-", CHALLENGER: version, PREVIOUS: "-"}


def test_an_experiment_that_does_not_exist_is_bad_input(settings, as_admin):
    missing = with_changes(settings, tracking={"experiment": "never-created-here"})
    with pytest.raises(BadInput, match="does not exist"):
        register_challenger(missing)


def test_each_decision_is_reported_in_the_job_summary(settings, as_admin, tmp_path, monkeypatch):
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = train(settings, {})
    register_challenger(settings)
    with pytest.raises(GateRefused):
        register_challenger(settings, min_value=2.0 if settings.metric.greater_is_better else -1.0)
    with pytest.raises(BadInput):
        rollback(settings)
    text = summary.read_text(encoding="utf-8")
    assert "## Register challenger" in text and f"`{result.run_id}`" in text
    assert "## Register challenger: refused" in text and "no candidate reaches" in text
