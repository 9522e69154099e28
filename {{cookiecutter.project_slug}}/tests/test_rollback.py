"""rollback: champion <- previous-champion, once, and only by an approver in Actions."""

import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.challenger import register_challenger
from {{ cookiecutter.package_name }}.errors import BadInput
from {{ cookiecutter.package_name }}.registry import CHAMPION, PREVIOUS
from {{ cookiecutter.package_name }}.rollback import rollback
from {{ cookiecutter.package_name }}.train import train

from .conftest import with_changes


def alias(settings, name):
    client = MlflowClient()
    try:
        return client.get_model_version_by_alias(settings.model.registered_name, name).version
    except Exception:
        return None


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


def test_only_approvers_may_roll_back_in_actions(settings, as_admin, monkeypatch):
    train(settings, {})
    version = register_challenger(settings).version
    client, name = MlflowClient(), settings.model.registered_name
    source = client.get_model_version(name, version).source
    newer = client.create_model_version(name, source, model_id=source.removeprefix("models:/"))
    client.set_registered_model_alias(name, CHAMPION, newer.version)
    client.set_registered_model_alias(name, PREVIOUS, version)
    guarded = with_changes(settings, promotion={"approvers": ["alice"]})
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_TRIGGERING_ACTOR", "mallory")
    with pytest.raises(BadInput, match=r"mallory is not in \[promotion\] approvers"):
        rollback(guarded)
    assert alias(settings, CHAMPION) == newer.version
    monkeypatch.setenv("GITHUB_TRIGGERING_ACTOR", "alice")
    rollback(guarded)
    assert alias(settings, CHAMPION) == version
