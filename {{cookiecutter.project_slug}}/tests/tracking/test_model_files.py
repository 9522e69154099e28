"""What reaches production is exactly what was judged, and only safe formats are ever loaded.

Attacks by a team member, against a real server: a candidate whose model is a pickle that runs
code when loaded, a skops model whose MLmodel trusts a dangerous type, and a champion whose
files are overwritten through the artifact proxy after it was promoted.
"""

from __future__ import annotations

import os
import pathlib
import shutil

import mlflow
import pytest
import requests
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.errors import BadInput
from {{ cookiecutter.package_name }}.experiments.runs import data_tags
from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.inference.served_model import load_served
from {{ cookiecutter.package_name }}.metric_names import validation_metric
from {{ cookiecutter.package_name }}.ml import data, features
from {{ cookiecutter.package_name }}.ml.data import load_split
from {{ cookiecutter.package_name }}.registry.challenger import register_challenger
from {{ cookiecutter.package_name }}.registry.promotion import promote
from {{ cookiecutter.package_name }}.registry.rollback import rollback
from {{ cookiecutter.package_name }}.registry.status import status
from {{ cookiecutter.package_name }}.tracking.model_files import (
    MODEL_FILE,
    TRUSTED_TYPES,
    CheckedModel,
    digest,
    fetch_verified,
    team_types,
    untrusted_types,
)
from {{ cookiecutter.package_name }}.tracking.model_registry import CHALLENGER, CHAMPION
from {{ cookiecutter.package_name }}.tracking.tag_keys import (
    CANDIDATE_TAG,
    DIRTY_TAG,
    HAS_MODEL_TAG,
    MODEL_FILES_DIGEST_TAG,
    MODEL_ID_TAG,
)

from ..central_pc_fixtures import full_disk, new_user, on_server
from ..registry_state import aliased, version_of


class Trap:
    """Unpickling it writes a file: stands for any code a member could run on the runner."""

    def __init__(self, marker: pathlib.Path):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.write_text, (self.marker, "code ran"))

    def predict(self, rows):
        return [0] * len(rows)


def crafted_candidate(settings, **log_model_args) -> str:
    """A FINISHED candidate run with an unbeatable validation score and a crafted model."""
    primary = settings.metric.primary
    best = 1.0 if settings.metric.greater_is_better else 0.0
    experiment = mlflow.set_experiment(settings.tracking.experiment).experiment_id
    tags = {CANDIDATE_TAG: "true", HAS_MODEL_TAG: "true", DIRTY_TAG: "false",
            **data_tags(load_split(settings))}  # fmt: skip
    with mlflow.start_run(experiment_id=experiment, tags=tags) as run:
        info = mlflow.sklearn.log_model(name="model", pip_requirements=[], **log_model_args)
        mlflow.log_metrics({validation_metric(primary): best, primary: best})
        mlflow.set_tag(MODEL_ID_TAG, info.model_id)  # the crafter owns the run: they can
    return run.info.run_id


def skipped_for(settings, crafted: str, reason: str) -> None:
    """The crafted candidate is skipped with its reason, and the honest one is registered."""
    registration = register_challenger(settings)
    assert [(s.run_id, reason in s.reason) for s in registration.skipped] == [(crafted, True)]
    assert registration.run.info.run_id != crafted
    assert f"skipped run {crafted} by " in registration.summary(settings)


def test_a_pickled_candidate_is_never_registered_and_its_code_never_runs(
    settings, as_admin, tmp_path
):
    train(settings, {})
    marker = tmp_path / "pwned"
    crafted = crafted_candidate(settings, sk_model=Trap(marker), serialization_format="cloudpickle")
    skipped_for(settings, crafted, "saved as 'cloudpickle', not skops")
    assert not marker.exists()


def test_a_model_that_trusts_a_dangerous_type_is_refused(settings, as_admin):
    fitted = train(settings, {})
    model = mlflow.sklearn.load_model(fitted.model_uri)
    crafted = crafted_candidate(
        settings, sk_model=model, skops_trusted_types=[*untrusted_types(model), "builtins.eval"]
    )
    skipped_for(settings, crafted, "types outside the trusted list: builtins.eval")


def test_a_model_that_would_serve_probabilities_is_not_what_promote_judges(settings, as_admin):
    fitted = train(settings, {})
    model = mlflow.sklearn.load_model(fitted.model_uri)
    other = "predict_proba" if hasattr(model, "predict_proba") else "score"  # a regressor
    crafted = crafted_candidate(
        settings, sk_model=model, skops_trusted_types=untrusted_types(model) or None,
        pyfunc_predict_fn=other,
    )  # fmt: skip
    skipped_for(settings, crafted, f"predicts with {other!r}, not 'predict'")


def test_a_planted_candidate_alone_blocks_nothing_silently(settings, as_admin, tmp_path):
    crafted = crafted_candidate(
        settings, sk_model=Trap(tmp_path / "pwned"), serialization_format="cloudpickle"
    )
    with pytest.raises(BadInput, match=f"no candidate can be registered .*skipped run {crafted}"):
        register_challenger(settings)
    assert version_of(settings, CHALLENGER) is None


def test_a_run_carrying_a_model_its_author_did_not_log_is_skipped(settings, as_admin):
    """Model injection: a model attached to a teammate's run is never registered under it."""
    from mlflow.entities import LoggedModelOutput

    victim = train(settings, {}).run_id
    honest = train(settings, {}).run_id
    client = MlflowClient()
    experiment = client.get_run(victim).info.experiment_id
    planted = client.create_logged_model(experiment, source_run_id=honest)
    client.log_outputs(victim, [LoggedModelOutput(planted.model_id, 0)])
    client.log_metric(victim, validation_metric(settings.metric.primary), 1e9 if
                      settings.metric.greater_is_better else -1e9)  # fmt: skip
    registration = register_challenger(settings)
    assert [s.run_id for s in registration.skipped] == [victim]
    assert "carries models it did not log" in registration.skipped[0].reason


def test_registration_pins_the_digest_of_every_file(settings, as_admin, tmp_path):
    train(settings, {})
    register_challenger(settings)
    version = aliased(settings, CHALLENGER)
    local = mlflow.artifacts.download_artifacts(version.source, dst_path=str(tmp_path / "copy"))
    assert digest(pathlib.Path(local)) == version.tags[MODEL_FILES_DIGEST_TAG]
    assert {p.name for p in pathlib.Path(local).iterdir()} >= {"MLmodel", "model.skops"}


def test_only_the_trusted_types_are_listed():
    assert "numpy.dtype" in TRUSTED_TYPES
    assert not any(t.startswith(("builtins", "os", "subprocess", "posix")) for t in TRUSTED_TYPES)


@pytest.fixture
def tampered_but_cached(settings, tracking_server, as_admin):
    """A promoted champion whose model file was overwritten after registration, on the machine
    that registered it, so it holds a verified copy. A member's overwrite is refused by the
    server (the folder is frozen); the digest is the second line, for whoever gets past the
    first (an admin's leaked password, a hand on the disk): here the admin overwrites it."""
    team = on_server(settings, tracking_server)
    train(team, {})
    register_challenger(team)
    assert promote(team).passed
    version = aliased(team, CHAMPION)
    member, password = new_user(team, "member")
    location = MlflowClient().get_logged_model(version.source.removeprefix("models:/"))
    path = location.artifact_location.removeprefix("mlflow-artifacts:/")
    url = f"{tracking_server.url}/api/2.0/mlflow-artifacts/artifacts/{path}/model.skops"
    refused = requests.put(url, data=b"not the judged model", auth=(member, password), timeout=30)
    assert refused.status_code == 403, "a registered model's folder is frozen for members"
    admin = ("admin", tracking_server.admin_password)
    response = requests.put(url, data=b"not the judged model", auth=admin, timeout=30)
    assert response.status_code == 200, "the attack itself must work for the test to mean much"
    return team


@pytest.fixture
def tampered(tampered_but_cached, model_cache):
    """The same attack, seen from a machine that never verified the champion's files."""
    shutil.rmtree(model_cache)
    return tampered_but_cached


def test_a_tampered_champion_is_refused_by_serve(tampered, tmp_path):
    name = tampered.model.registered_name
    with pytest.raises(BadInput, match="changed since it was registered"):
        load_served(name, aliased(tampered, CHAMPION), tmp_path)


def test_a_tampered_champion_is_flagged_by_status(tampered):
    report = status(tampered)
    assert "REFUSED" in report.text
    assert report.refusal.startswith("champion: the files of version 1")


def test_a_tampered_champion_is_refused_by_promote(tampered):
    name, value = next(iter(tampered.model.params.items()))
    train(tampered, {name: value * 2})
    register_challenger(tampered, newer_than_challenger=True)
    with pytest.raises(BadInput, match="changed since it was registered"):
        promote(tampered)
    assert version_of(tampered, CHAMPION) == "1"


def test_a_tampered_previous_champion_is_not_rolled_back_to(tampered):
    client, name = MlflowClient(), tampered.model.registered_name
    judged = aliased(tampered, CHAMPION)
    newer = client.create_model_version(
        name, judged.source, tags=judged.tags, model_id=judged.source.removeprefix("models:/")
    )
    client.set_registered_model_alias(name, "previous-champion", "1")
    client.set_registered_model_alias(name, CHAMPION, newer.version)
    with pytest.raises(BadInput, match="changed since it was registered"):
        rollback(tampered)
    assert version_of(tampered, CHAMPION) == newer.version


def test_a_machine_that_verified_the_champion_serves_the_judged_bytes_not_the_tampered_ones(
    tampered_but_cached, tmp_path
):
    version = aliased(tampered_but_cached, CHAMPION)
    name = tampered_but_cached.model.registered_name
    served = load_served(name, version, tmp_path)  # the tampered bytes could not even load
    assert served.digest == version.tags[MODEL_FILES_DIGEST_TAG]
    assert status(tampered_but_cached).refusal.startswith("champion: the files of version 1")


def test_a_changed_cache_entry_is_never_loaded(settings, as_admin, model_cache, tmp_path):
    train(settings, {})
    register_challenger(settings)
    version = aliased(settings, CHALLENGER)
    pinned = version.tags[MODEL_FILES_DIGEST_TAG]
    (model_cache / pinned / MODEL_FILE).write_bytes(b"swapped on this machine")

    checked = fetch_verified(settings.model.registered_name, version, tmp_path / "copy")
    assert digest(checked.folder) == pinned
    assert digest(model_cache / pinned) == pinned, "the changed entry is replaced by the download"


def test_a_full_or_cut_off_cache_leaves_no_half_entry(settings, as_admin, tmp_path, monkeypatch):
    """The cache only saves downloads: a full disk under it costs nothing but the saving, and
    files a killed process was keeping are swept by the next one that keeps files."""
    train(settings, {})
    register_challenger(settings)
    version = aliased(settings, CHALLENGER)
    pinned, name = version.tags[MODEL_FILES_DIGEST_TAG], settings.model.registered_name
    with full_disk(tmp_path / "full-cache") as cache:
        monkeypatch.setenv("MLOPS_MODEL_CACHE", str(cache))
        assert digest(fetch_verified(name, version, tmp_path / "first").folder) == pinned
        assert [p.name for p in cache.iterdir()] == ["filler"], "no entry, whole or half"

    cache = tmp_path / "cache"
    monkeypatch.setenv("MLOPS_MODEL_CACHE", str(cache))
    dead, alive = cache / ".incoming-999999999-x", cache / f".incoming-{os.getpid()}-x"
    for incoming in (dead, alive):
        incoming.mkdir(parents=True)
        (incoming / MODEL_FILE).write_bytes(b"half")
    assert digest(fetch_verified(name, version, tmp_path / "second").folder) == pinned
    assert not dead.exists() and alive.exists() and digest(cache / pinned) == pinned


def test_only_steps_the_team_wrote_in_its_room_are_trusted():
    """A class defined in a module of `ml/` may be loaded; a name those modules merely import (a
    module, scikit-learn's class), a function, a class of the platform beside the room, or one
    from elsewhere may not."""
    home, room = features.__name__, features.__name__.rpartition(".")[0]
    written_here = [f"{home}.Columns", f"{data.__name__}.Split"]
    refused = [f"{home}.pd", f"{home}.ColumnTransformer", f"{home}.column_roles", f"{home}.nope",
               f"{room}.nope.Columns", f"{room}..features.Columns", f"{room}features.Columns",
               f"{CheckedModel.__module__}.CheckedModel", "os.system", "builtins.eval"]  # fmt: skip
    assert team_types(written_here + refused) == written_here
