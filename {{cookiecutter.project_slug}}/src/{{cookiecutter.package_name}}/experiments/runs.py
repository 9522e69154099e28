"""Log a candidate into MLflow in as few HTTP requests as MLflow allows; never leave it RUNNING.

Request economy (each request may cross a tunnel twice): tags go with `start_run`, params in
one batch, both datasets in one `log_inputs`, the model with explicit pip requirements (no
inference), and metrics last, after `log_model`, so they are linked to the model for free.
A run that fails on the way is marked FAILED with one quick attempt, so `register-challenger`
never picks it up and a dead tunnel is not waited for twice.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import mlflow
import mlflow.sklearn
import requests
from mlflow import MlflowClient
from mlflow.entities import Metric, RunStatus, RunTag
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.utils.time import get_current_time_millis

from ..ml.data import Split
from ..ml.training import FittedCandidate
from ..profiles.reference import PROFILE_KEY
from ..settings import Settings
from ..tracking.datasets import as_dataset, holdout_digest
from ..tracking.mlflow_environment import environment
from ..tracking.model_files import check_loggable
from ..tracking.provenance import run_tags
from ..tracking.tag_keys import (
    CANDIDATE_TAG,
    ESTIMATOR_TAG,
    HAS_MODEL_TAG,
    HOLDOUT_DIGEST_TAG,
    HOLDOUT_ROWS_TAG,
    MODEL_ID_TAG,
    SPLIT_TAG,
    TRAIN_ROWS_TAG,
    TRAIN_SAMPLE_TAG,
)

MODEL_NAME = "model"
PICTURES_DIR = "pictures"
INPUT_EXAMPLE_ROWS = 5
RUNTIME_PACKAGES = ("mlflow", "scikit-learn", "pandas", "numpy", "scipy", "skops")
ONE_QUICK_TRY = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}


def new_attempt() -> str:
    return uuid.uuid4().hex


def candidate_tags(
    settings: Settings, split: Split, kind: str = "train", has_model: bool = True
) -> dict[str, str]:
    """Tags of a run `register-challenger` may pick: a candidate, scored on this holdout, and
    (only when it will log one) carrying a model."""
    tags = {
        **run_tags(settings.root, kind=kind),
        CANDIDATE_TAG: "true",
        ESTIMATOR_TAG: settings.model.estimator,
        **data_tags(split),
    }
    if has_model:
        tags[HAS_MODEL_TAG] = "true"
    return tags


def data_tags(split: Split) -> dict[str, str]:
    """The data a run saw: enough for promote to tell whether a later holdout is fair to it."""
    return {
        HOLDOUT_DIGEST_TAG: holdout_digest(split),
        SPLIT_TAG: split.description,
        TRAIN_ROWS_TAG: str(len(split.x_train)),
        HOLDOUT_ROWS_TAG: str(len(split.x_test)),
        TRAIN_SAMPLE_TAG: split.train_sample(),
    }


def param_strings(params: dict[str, object]) -> dict[str, str]:
    """Parameters as MLflow stores them (text), identical whichever call logs them."""
    return {name: str(value) for name, value in params.items()}


def pip_requirements() -> list[str]:
    """The exact versions installed here (locked by uv), so MLflow infers nothing."""
    pins = []
    for name in RUNTIME_PACKAGES:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return pins


def log_model(candidate: FittedCandidate, split: Split):
    """Log the pipeline with signature and input example; returns MLflow's ModelInfo.

    The signature is inferred from every training row, so a column with missing values anywhere
    is optional in the schema, not only when the first rows happen to show a gap."""
    example = split.x_train.head(INPUT_EXAMPLE_ROWS)
    signature = infer_signature(split.x_train, candidate.pipeline.predict(example))
    trusted = check_loggable(candidate.pipeline)
    return mlflow.sklearn.log_model(
        candidate.pipeline,
        name=MODEL_NAME,
        signature=signature,
        input_example=example,
        pip_requirements=pip_requirements(),
        skops_trusted_types=trusted or None,
        metadata={PROFILE_KEY: candidate.profile} if candidate.profile else None,
    )


def log_metrics_and_model_id(run_id: str, metrics: dict[str, float], model_id: str) -> None:
    """The metrics, and the id of the model this run logged, in one request: register-challenger
    registers that model and no other (a teammate could attach one to the run's outputs)."""
    now = get_current_time_millis()
    MlflowClient().log_batch(
        run_id,
        metrics=[Metric(key, float(value), now, 0) for key, value in metrics.items()],
        tags=[RunTag(MODEL_ID_TAG, model_id)],
    )


@contextmanager
def logged_run(**start_run_args) -> Iterator[mlflow.ActiveRun]:
    """`mlflow.start_run` that ends FINISHED, or FAILED when anything inside goes wrong."""
    run = mlflow.start_run(**start_run_args)
    try:
        yield run
    except BaseException:
        end_failed()
        raise
    mlflow.end_run()


def end_failed() -> None:
    """Mark the active run FAILED with one quick attempt: after a failed call the server is
    probably gone, and MLflow's retries would make the user wait a second time. A run left
    RUNNING this way is closed by `upload-pending` (it carries the attempt tag)."""
    quiet = suppress(MlflowException, requests.exceptions.RequestException)
    with environment(ONE_QUICK_TRY), quiet:
        mlflow.end_run(RunStatus.to_string(RunStatus.FAILED))


def log_datasets(split: Split) -> None:
    """Both datasets in one request, sent twice at most: two runs logging the same table at
    once (two uploads, two teammates) race in MLflow's store, which reads whether the dataset
    exists and then inserts it; the loser's whole request is rolled back with a unique-constraint
    error, and its second try finds the row the winner wrote."""
    for last_try in (False, True):
        try:
            mlflow.log_inputs(
                datasets=[as_dataset(split, "train"), as_dataset(split, "holdout")],
                contexts=["training", "evaluation"],
                tags_list=[{}, {}],
            )
            return
        except MlflowException as exc:
            if last_try or "unique constraint" not in exc.message.lower():
                raise


def log_candidate(
    candidate: FittedCandidate, split: Split, settings: Settings, tags: dict[str, str], **run_args
) -> tuple[str, str]:
    """Log params, datasets, model and metrics into a new run; (run id, model URI).

    `run_args` go to `mlflow.start_run` (experiment_id, run_name, nested...).
    """
    with logged_run(tags=tags, **run_args) as run:
        mlflow.log_params(param_strings(candidate.params))
        log_datasets(split)
        info = log_model(candidate, split)
        log_pictures(run.info.artifact_uri, candidate.pictures)
        log_metrics_and_model_id(run.info.run_id, candidate.metrics, info.model_id)
    return run.info.run_id, info.model_uri


def log_pictures(artifact_uri: str, pictures: dict[str, bytes]) -> None:
    """The run's pictures under `pictures/`: one request per file (the run's artifact URI is
    known, so MLflow need not read the run again to find it)."""
    if not pictures:
        return
    with tempfile.TemporaryDirectory(prefix="mlops-pictures-") as folder:
        for name, content in pictures.items():
            (Path(folder) / name).write_bytes(content)
        get_artifact_repository(artifact_uri).log_artifacts(folder, PICTURES_DIR)
