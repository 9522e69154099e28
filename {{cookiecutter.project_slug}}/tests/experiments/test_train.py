"""`mlops train` against a real basic-auth tracking server."""

from pathlib import Path

import mlflow
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.experiments.tune import tune
from {{ cookiecutter.package_name }}.tracking.tag_keys import CANDIDATE_TAG, HOLDOUT_DIGEST_TAG

from ..http_proxy import Proxy


def test_one_run_holds_params_metrics_model_dataset_and_tags(settings, as_admin):
    result = train(settings, {})
    client = MlflowClient(as_admin.url)
    runs = client.search_runs([result.experiment_id])
    assert [run.info.run_id for run in runs] == [result.run_id]
    run = runs[0]
    assert run.info.status == "FINISHED"
    for name, value in settings.model.params.items():
        assert run.data.params[name] == str(value)
    primary = settings.metric.primary
    assert run.data.metrics[primary] == result.metrics[primary]
    tags = run.data.tags
    assert tags[CANDIDATE_TAG] == "true"
    assert tags["mlops.where"] in {"local", "ci"}
    assert tags["mlflow.user"] == "admin"
    assert len(tags[HOLDOUT_DIGEST_TAG]) >= 8
    assert {"mlflow.source.git.commit", "mlops.uv_lock_sha256"} <= set(tags)
    contexts = {
        d.dataset.name: {t.key: t.value for t in d.tags}["mlflow.data.context"]
        for d in run.inputs.dataset_inputs
    }
    assert sorted(contexts.values()) == ["evaluation", "training"]
    assert result.url.endswith(f"/runs/{result.run_id}")


def test_the_logged_model_has_signature_example_and_pinned_requirements(settings, as_admin):
    result = train(settings, {})
    assert result.model_uri.startswith("models:/m-")
    info = mlflow.models.get_model_info(result.model_uri)
    assert info.signature is not None and info.signature.inputs is not None
    assert info.saved_input_example_info is not None
    model = mlflow.sklearn.load_model(result.model_uri)
    from {{ cookiecutter.package_name }}.ml.data import load_split

    split = load_split(settings)
    assert len(model.predict(split.x_test.head(3))) == 3


def test_overrides_change_the_logged_params(settings, as_admin):
    name, value = next(iter(settings.model.params.items()))
    new_value = value * 2 if isinstance(value, (int, float)) else value
    result = train(settings, {name: new_value})
    run = MlflowClient(as_admin.url).get_run(result.run_id)
    assert run.data.params[name] == str(new_value)


def test_two_runs_share_the_holdout_digest(settings, as_admin):
    first, second = train(settings, {}), train(settings, {})
    client = MlflowClient(as_admin.url)
    digests = {client.get_run(r.run_id).data.tags[HOLDOUT_DIGEST_TAG] for r in (first, second)}
    assert len(digests) == 1


def test_a_run_logs_its_pictures_in_two_requests(settings, as_admin):
    """The pictures reach the run's artifacts, and cost exactly their two uploads."""
    counted = {}
    for pictures in (False, True):
        train(settings, {})  # the experiment exists: both runs are measured alike
        with Proxy(as_admin.url) as tunnel:
            result = train(settings.replace("tracking", uri=tunnel.url, pictures=pictures), {})
        counted[pictures] = tunnel.requests
    added = len(counted[True]) - len(counted[False])
    assert added == 2, [request for request in counted[True] if "pictures" not in request[1]]
    assert [method for method, path in counted[True] if "/pictures/" in path] == ["PUT", "PUT"]
    logged = {item.path for item in MlflowClient().list_artifacts(result.run_id, "pictures")}
    assert logged == {"pictures/overview.png", "pictures/report.html"}
    folder = mlflow.artifacts.download_artifacts(run_id=result.run_id, artifact_path="pictures")
    assert (Path(folder) / "overview.png").read_bytes() == result.pictures["overview.png"]


def test_a_tune_pictures_its_best_candidate_only(settings, as_admin):
    tuned = tune(settings.replace("tracking", pictures=True), trials=3, progress=False)
    client = MlflowClient()
    pictured = [
        trial.info.run_id
        for trial in client.search_runs(
            [tuned.experiment_id], f"tags.mlflow.parentRunId = '{tuned.parent_run_id}'"
        )
        if client.list_artifacts(trial.info.run_id, "pictures")
    ]
    assert pictured == [tuned.best_run_id]
    assert set(tuned.pictures) == {"overview.png", "report.html"}
