"""`mlops register-challenger`: register the best candidate once and point `challenger` at it.

"Best" is by the validation score (`cv_<metric>`, see `candidates`): the holdout stays unseen
until `promote`. A rerun never duplicates a version: the run's existing version is reused, and
the server refuses a second version of a run (`server_guard`), so concurrent runs agree too.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from . import tracking
from .candidate_search import CandidateFilter, best_candidate, ranking_metric
from .errors import BadInput, GateRefused
from .gates import min_value_check
from .model_files import fetch
from .provenance import who, workflow_run_url
from .registry import (
    CHALLENGER,
    aliased_version,
    ensure_registered_model,
    is_not_found,
    move_alias,
    now_utc,
)
from .report import Table, write_step_summary
from .settings import Settings
from .tag_keys import (
    GIT_COMMIT_TAG,
    HOLDOUT_DIGEST_TAG,
    MODEL_FILES_DIGEST_TAG,
    REGISTERED_AT_TAG,
    REGISTERED_BY_TAG,
    SOURCE_RUN_TAG,
    UV_LOCK_TAG,
    VERSION_GIT_COMMIT_TAG,
    WORKFLOW_RUN_TAG,
    metric_tag,
)


@dataclass(frozen=True)
class Registration:
    """What register-challenger decided; `version` is None on a dry run that would register."""

    run: Run
    metric: float
    version: str | None
    created: bool
    dry_run: bool

    def summary(self, settings: Settings) -> str:
        name = repr(settings.model.registered_name)
        run = f"run {self.run.info.run_id} ({ranking_metric(settings)} = {self.metric:.4f})"
        if self.dry_run:
            target = f"version {self.version}" if self.version else "a new version"
            return f"dry run: {CHALLENGER} would point at {target} of {name}: {run}"
        if self.created:
            return f"registered version {self.version} of {name} as {CHALLENGER}: {run}"
        return f"{CHALLENGER} already is version {self.version} of {name}: {run}"

    def markdown(self, settings: Settings) -> str:
        table = Table(["run", ranking_metric(settings), "version", "git commit"])
        table.add(
            f"`{self.run.info.run_id}`",
            f"{self.metric:.4f}",
            self.version or "-",
            f"`{self.run.data.tags.get(GIT_COMMIT_TAG, 'unknown')[:12]}`",
        )
        return f"## Register challenger\n\n{table.markdown()}\n\n{self.summary(settings)}"


def _existing_version(client: MlflowClient, name: str, run_id: str) -> ModelVersion | None:
    """The version already registered from this run, so re-running never duplicates it."""
    try:
        found = client.search_model_versions(
            f"name = '{name}' and run_id = '{run_id}'", max_results=1
        )
    except MlflowException as exc:
        if is_not_found(exc):
            return None
        raise
    return found[0] if found else None


def _model_id(client: MlflowClient, run: Run) -> str:
    """The run's LoggedModel id (`m-...`): MLflow 3 registers `models:/<id>`, not `runs:/`."""
    outputs = run.outputs.model_outputs if run.outputs else []
    if outputs:
        return outputs[0].model_id
    models = client.search_logged_models(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"source_run_id = '{run.info.run_id}'",
        max_results=1,
    )
    if not models:
        raise BadInput(f"run {run.info.run_id} is tagged as having a model but has none")
    return models[0].model_id


def _version_tags(run: Run, settings: Settings, metric: float) -> dict[str, str]:
    tags = run.data.tags
    version_tags = {
        SOURCE_RUN_TAG: run.info.run_id,
        metric_tag(ranking_metric(settings)): repr(metric),
        VERSION_GIT_COMMIT_TAG: tags.get(GIT_COMMIT_TAG, "unknown"),
        HOLDOUT_DIGEST_TAG: tags.get(HOLDOUT_DIGEST_TAG, "unknown"),
        UV_LOCK_TAG: tags.get(UV_LOCK_TAG, "unknown"),
        REGISTERED_BY_TAG: who(),
        REGISTERED_AT_TAG: now_utc(),
    }
    url = workflow_run_url()
    if url:
        version_tags[WORKFLOW_RUN_TAG] = url
    return version_tags


def _check_min_value(settings: Settings, metric: float, min_value: float | None) -> None:
    check = min_value_check(settings, metric, min_value, label=ranking_metric(settings))
    if check is None or check.held:
        return
    reason = f"no candidate reaches {check.required}: the best run scores {metric:.4f}"
    write_step_summary(f"## Register challenger: refused\n\n{reason}")
    raise GateRefused(reason)


def register_challenger(
    settings: Settings,
    criteria: CandidateFilter | None = None,
    newer_than_challenger: bool = False,
    min_value: float | None = None,
    dry_run: bool = False,
) -> Registration:
    """Register the best candidate once and point `challenger` at it."""
    with tracking.connected(settings) as uri:
        client = MlflowClient(tracking_uri=uri)
        name = settings.model.registered_name
        criteria = criteria or CandidateFilter()
        min_value = settings.promotion.min_value if min_value is None else min_value
        with tracking.server_errors(uri):
            experiment_id = tracking.experiment_id(settings.tracking.experiment, create=False)
            current = aliased_version(client, name, CHALLENGER)
            if newer_than_challenger:
                criteria = _after(client, current, criteria)
            run = best_candidate(settings, experiment_id, criteria, _score(current, settings))
            metric = run.data.metrics[ranking_metric(settings)]
            _check_min_value(settings, metric, min_value)
            existing = _existing_version(client, name, run.info.run_id)
            if dry_run:
                decision = Registration(
                    run, metric, existing.version if existing else None, False, True
                )
                write_step_summary(decision.markdown(settings))
                return decision
            created = False
            if existing is None:
                existing, created = _register(client, name, run, settings, metric)
            version = existing
            move_alias(client, name, CHALLENGER, version)
        registration = Registration(run, metric, version.version, created, False)
        write_step_summary(registration.markdown(settings))
        return registration


def _register(
    client: MlflowClient, name: str, run: Run, settings: Settings, metric: float
) -> tuple[ModelVersion, bool]:
    """A new version of the run's model, once its files are vetted and pinned: a pickle, custom
    code or an unexpected type is refused before anything is created (see `model_files`).

    The server registers a run once: when another process got there first, its version is
    the one to use, (version, False)."""
    model_id = _model_id(client, run)
    with tempfile.TemporaryDirectory(prefix="mlops-register-") as folder:
        checked = fetch(f"models:/{model_id}", Path(folder), f"the model of run {run.info.run_id}")
    ensure_registered_model(client, name)
    tags = {**_version_tags(run, settings, metric), MODEL_FILES_DIGEST_TAG: checked.digest}
    try:
        created = client.create_model_version(
            name, f"models:/{model_id}", run_id=run.info.run_id, tags=tags, model_id=model_id
        )
    except MlflowException as exc:
        existing = _existing_version(client, name, run.info.run_id)
        if exc.error_code != "RESOURCE_ALREADY_EXISTS" or existing is None:
            raise
        return existing, False
    return created, True


def _score(current: ModelVersion | None, settings: Settings) -> float | None:
    """The challenger's recorded score: the bar that keeps the search small (see
    `candidate_search`). A wrong or missing value costs time, never the choice."""
    recorded = current.tags.get(metric_tag(ranking_metric(settings))) if current else None
    try:
        return float(recorded) if recorded else None
    except ValueError:
        return None


def _after(client: MlflowClient, current: ModelVersion | None, criteria: CandidateFilter):
    if current is None or not current.run_id:
        return criteria
    started = client.get_run(current.run_id).info.start_time
    return CandidateFilter(newer_than_ms=started, git_commit=criteria.git_commit)
