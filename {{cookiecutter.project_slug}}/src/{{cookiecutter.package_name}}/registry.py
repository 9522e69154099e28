"""The model registry: which version holds which alias, and how aliases move.

Aliases: `challenger` (best candidate so far), `champion` (in production),
`previous-champion` (what rollback restores). Every move is recorded in version tags.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from . import tracking
from .candidates import CandidateFilter, best_candidate
from .errors import BadInput, GateRefused
from .metrics import is_better
from .provenance import HOLDOUT_DIGEST_TAG, who, workflow_run_url
from .report import Table, write_step_summary
from .settings import Settings

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous-champion"
ALIASES = (CHAMPION, CHALLENGER, PREVIOUS)
SOURCE_RUN_TAG = "mlops.source_run"


def metric_tag(metric: str) -> str:
    return f"mlops.metric.{metric}"


def _missing(exc: MlflowException) -> bool:
    return exc.error_code in {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"}


def aliased_version(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    """The version behind an alias, or None when the alias (or the model) does not exist."""
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if _missing(exc):
            return None
        raise


def now_utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def move_alias(client: MlflowClient, name: str, alias: str, version: ModelVersion) -> None:
    client.set_registered_model_alias(name, alias, version.version)


# --- register-challenger ------------------------------------------------------------------------


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
        run = f"run {self.run.info.run_id} ({settings.metric.primary} = {self.metric:.4f})"
        if self.dry_run:
            target = f"version {self.version}" if self.version else "a new version"
            return f"dry run: {CHALLENGER} would point at {target} of {name}: {run}"
        if self.created:
            return f"registered version {self.version} of {name} as {CHALLENGER}: {run}"
        return f"{CHALLENGER} already is version {self.version} of {name}: {run}"

    def markdown(self, settings: Settings) -> str:
        table = Table(["run", settings.metric.primary, "version", "git commit"])
        table.add(
            f"`{self.run.info.run_id}`",
            f"{self.metric:.4f}",
            self.version or "-",
            f"`{self.run.data.tags.get('mlflow.source.git.commit', 'unknown')[:12]}`",
        )
        return f"## Register challenger\n\n{table.markdown()}\n\n{self.summary(settings)}"


def _existing_version(client: MlflowClient, name: str, run_id: str) -> ModelVersion | None:
    """The version already registered from this run, so re-running never duplicates it."""
    try:
        found = client.search_model_versions(
            f"name = '{name}' and run_id = '{run_id}'", max_results=1
        )
    except MlflowException as exc:
        if _missing(exc):
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


def _ensure_registered_model(client: MlflowClient, name: str) -> None:
    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        if not _missing(exc):
            raise
        client.create_registered_model(name, description="Managed by the mlops command.")


def _version_tags(run: Run, settings: Settings, metric: float) -> dict[str, str]:
    tags = run.data.tags
    version_tags = {
        SOURCE_RUN_TAG: run.info.run_id,
        metric_tag(settings.metric.primary): repr(metric),
        "mlops.git_commit": tags.get("mlflow.source.git.commit", "unknown"),
        HOLDOUT_DIGEST_TAG: tags.get(HOLDOUT_DIGEST_TAG, "unknown"),
        "mlops.uv_lock_sha256": tags.get("mlops.uv_lock_sha256", "unknown"),
        "mlops.registered_by": who(),
        "mlops.registered_at": now_utc(),
    }
    url = workflow_run_url()
    if url:
        version_tags["mlops.workflow_run"] = url
    return version_tags


def _check_min_value(settings: Settings, metric: float, min_value: float | None) -> None:
    if min_value is None:
        return
    reached = metric == min_value or is_better(metric, min_value, settings.metric.greater_is_better)
    if not reached:
        relation = ">=" if settings.metric.greater_is_better else "<="
        reason = (
            f"no candidate reaches {settings.metric.primary} {relation} {min_value}: "
            f"the best run scores {metric:.4f}"
        )
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
    uri = tracking.connect(settings)
    client = MlflowClient()
    name = settings.model.registered_name
    criteria = criteria or CandidateFilter()
    min_value = settings.promotion.min_value if min_value is None else min_value
    with tracking.server_errors(uri):
        experiment_id = tracking.experiment_id(settings.tracking.experiment, create=False)
        if newer_than_challenger:
            criteria = _after_challenger(client, name, criteria)
        run = best_candidate(settings, experiment_id, criteria)
        metric = run.data.metrics[settings.metric.primary]
        _check_min_value(settings, metric, min_value)
        existing = _existing_version(client, name, run.info.run_id)
        if dry_run:
            decision = Registration(
                run, metric, existing.version if existing else None, False, True
            )
            write_step_summary(decision.markdown(settings))
            return decision
        version, created = existing, False
        if version is None:
            _ensure_registered_model(client, name)
            model_id = _model_id(client, run)
            version = client.create_model_version(
                name,
                f"models:/{model_id}",
                run_id=run.info.run_id,
                tags=_version_tags(run, settings, metric),
                model_id=model_id,
            )
            created = True
        move_alias(client, name, CHALLENGER, version)
    registration = Registration(run, metric, version.version, created, False)
    write_step_summary(registration.markdown(settings))
    return registration


def _after_challenger(client: MlflowClient, name: str, criteria: CandidateFilter):
    current = aliased_version(client, name, CHALLENGER)
    if current is None or not current.run_id:
        return criteria
    started = client.get_run(current.run_id).info.start_time
    return CandidateFilter(newer_than_ms=started, git_commit=criteria.git_commit)


# --- rollback -----------------------------------------------------------------------------------


def rollback(settings: Settings, dry_run: bool = False) -> str:
    """champion <- previous-champion; the alias `previous-champion` is then removed, so a second
    rollback cannot silently re-promote the version that was just rolled back."""
    uri = tracking.connect(settings)
    client = MlflowClient()
    name = settings.model.registered_name
    with tracking.server_errors(uri):
        previous = aliased_version(client, name, PREVIOUS)
        if previous is None:
            raise BadInput(f"no {PREVIOUS} of {name!r}: nothing to roll back to")
        current = aliased_version(client, name, CHAMPION)
        what = f"{CHAMPION} -> version {previous.version}" + (
            f" (was version {current.version})" if current else ""
        )
        if dry_run:
            return _summarised(f"would move {what}")
        move_alias(client, name, CHAMPION, previous)
        client.delete_registered_model_alias(name, PREVIOUS)
        if current is not None:
            client.set_model_version_tag(name, current.version, "mlops.rolled_back_at", now_utc())
            client.set_model_version_tag(name, current.version, "mlops.rolled_back_by", who())
    return _summarised(f"moved {what}")


def _summarised(outcome: str) -> str:
    write_step_summary(f"## Roll back\n\n{outcome}")
    return outcome


# --- status -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AliasedVersion:
    alias: str
    version: ModelVersion | None

    def metric(self, name: str) -> str:
        value = self.version.tags.get(metric_tag(name)) if self.version else None
        return f"{float(value):.4f}" if value else "-"


def status_rows(settings: Settings) -> list[AliasedVersion]:
    uri = tracking.connect(settings)
    client = MlflowClient()
    with tracking.server_errors(uri):
        return [
            AliasedVersion(alias, aliased_version(client, settings.model.registered_name, alias))
            for alias in ALIASES
        ]


def status_table(settings: Settings) -> Table:
    metric = settings.metric.primary
    table = Table(["alias", "version", metric, "source run", "registered"])
    for row in status_rows(settings):
        version = row.version
        table.add(
            row.alias,
            version.version if version else "-",
            row.metric(metric),
            (version.run_id or "-") if version else "-",
            _when(version.creation_timestamp) if version else "-",
        )
    return table


def status(settings: Settings) -> str:
    """`mlops status`: a table of aliases, versions, metrics and source runs."""
    table = status_table(settings)
    header = f"model {settings.model.registered_name!r} on {settings.tracking_uri}"
    return f"{header}\n{table.text()}"


def _when(millis: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(millis / 1000)) if millis else "-"
