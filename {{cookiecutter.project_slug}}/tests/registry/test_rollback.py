"""rollback: champion <- previous-champion, once, and only by an approver in Actions."""

import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.errors import BadInput, ServerUnavailable
from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.registry.challenger import register_challenger
from {{ cookiecutter.package_name }}.registry.rollback import rollback
from {{ cookiecutter.package_name }}.registry.status import status
from {{ cookiecutter.package_name }}.tracking.model_registry import CHAMPION, PREVIOUS

from ..http_proxy import Proxy, alias_moves
from ..project import with_changes
from ..registry_state import version_of


def test_rollback_needs_a_previous_champion(settings, as_admin):
    with pytest.raises(BadInput, match="nothing to roll back to"):
        rollback(settings)


@pytest.fixture
def promoted_twice(settings, as_admin) -> tuple[str, str]:
    """(previous champion, champion): two versions of one trained model, aliased by hand."""
    train(settings, {})
    version = register_challenger(settings).version
    client, name = MlflowClient(), settings.model.registered_name
    source = client.get_model_version(name, version).source
    newer = client.create_model_version(name, source, model_id=source.removeprefix("models:/"))
    client.set_registered_model_alias(name, CHAMPION, newer.version)
    client.set_registered_model_alias(name, PREVIOUS, version)
    return version, newer.version


def test_rollback_restores_the_previous_champion_once(settings, promoted_twice):
    version, newer = promoted_twice
    assert rollback(settings, dry_run=True).startswith("would move")
    assert version_of(settings, CHAMPION) == newer
    rollback(settings)
    assert version_of(settings, CHAMPION) == version == version_of(settings, PREVIOUS)
    with pytest.raises(BadInput, match="already is previous-champion"):
        rollback(settings)
    assert version_of(settings, CHAMPION) == version
    said = status(settings).text.splitlines()[-1]
    assert said.startswith(f"previous-champion = champion (version {version}): the last move")
    tags = MlflowClient().get_model_version(settings.model.registered_name, newer).tags
    assert tags["mlops.rolled_back_by"] == "admin" and "mlops.rolled_back_at" in tags


def test_only_approvers_may_roll_back_in_actions(settings, promoted_twice, monkeypatch):
    version, newer = promoted_twice
    guarded = with_changes(settings, promotion={"approvers": ["alice"]})
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_TRIGGERING_ACTOR", "mallory")
    with pytest.raises(BadInput, match=r"mallory is not in \[promotion\] approvers"):
        rollback(guarded)
    assert version_of(settings, CHAMPION) == newer
    monkeypatch.setenv("GITHUB_TRIGGERING_ACTOR", "alice")
    rollback(guarded)
    assert version_of(settings, CHAMPION) == version


@pytest.mark.parametrize("how", ["502", "drop", "lost-answer"])
def test_a_rollback_cut_off_at_the_alias_move_is_on_file_and_completed_by_a_rerun(
    settings, promoted_twice, as_admin, monkeypatch, how
):
    version, newer = promoted_twice
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with Proxy(as_admin.url, fail=alias_moves, how=how) as tunnel:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", tunnel.url)
        with pytest.raises(ServerUnavailable):
            rollback(settings.replace("tracking", uri=tunnel.url))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", as_admin.url)
    assert version_of(settings, CHAMPION) == (version if how == "lost-answer" else newer)
    tags = MlflowClient(as_admin.url).get_model_version(settings.model.registered_name, newer)
    assert tags.tags["mlops.rolled_back_by"] == "admin", "on file before the move, either way"
    if how != "lost-answer":
        rollback(settings)
    assert version_of(settings, CHAMPION) == version == version_of(settings, PREVIOUS)
