"""`mlops register-challenger`: register the best candidate once and point `challenger` at it.

"Best" is by the validation score (`cv_<metric>`, see `candidates`): the holdout stays unseen
until `promote`. A candidate that cannot be registered (its model fails vetting, or is not the
model its author logged) is skipped and listed with who made it: one planted run never blocks
the team's good ones. A rerun never duplicates a version: the run's existing version is reused, and
the server refuses a second version of a run (`server_guard`), so concurrent runs agree too.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from ..errors import BadInput
from ..ml.data import load_split
from ..report import Table, write_step_summary
from ..settings import Settings
from ..tracking.datasets import holdout_digest
from ..tracking.model_files import fetch
from ..tracking.model_registry import CHALLENGER, ensure_registered_model, expecting, is_not_found
from ..tracking.provenance import who, workflow_run_url
from ..tracking.tag_keys import (
    DATA_TAGS,
    DIRTY_TAG,
    GIT_COMMIT_TAG,
    HOLDOUT_DIGEST_TAG,
    MODEL_FILES_DIGEST_TAG,
    MODEL_ID_TAG,
    REGISTERED_AT_TAG,
    REGISTERED_BY_TAG,
    SOURCE_RUN_TAG,
    UV_LOCK_TAG,
    VERSION_GIT_COMMIT_TAG,
    WORKFLOW_RUN_TAG,
    metric_tag,
)
from .approvers import now_utc
from .candidate_search import CandidateFilter, best_candidate, filter_string, ranking_metric
from .gates import min_value_check
from .session import open_registry


@dataclass(frozen=True)
class Registration:
    """What register-challenger decided; `version` is None on a dry run that would register."""

    run: Run
    metric: float
    version: str | None
    created: bool
    dry_run: bool
    skipped: tuple[Skipped, ...] = ()
    note: str = ""  # why the newest candidate was not the one picked
    refusal: str | None = None
    """Set when the best candidate fails `[promotion] min_value`: nothing was registered or
    moved, and the command exits 1 with it, as promote does when a gate says no."""

    def summary(self, settings: Settings) -> str:
        notes = [*(s.line() for s in self.skipped), *([self.note] if self.note else [])]
        return "\n".join(notes if self.refusal else [*notes, self._decision(settings)])

    def _decision(self, settings: Settings) -> str:
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
        text = f"## Register challenger\n\n{table.markdown()}\n\n{self._decision(settings)}"
        if self.skipped:
            skipped = Table(["skipped run", "made by", "why"])
            for s in self.skipped:
                skipped.add(f"`{s.run_id}`", s.author or "unknown", s.reason)
            text += f"\n\n### Skipped candidates\n\n{skipped.markdown()}"
        return text


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


def _model_id(run: Run) -> str:
    """The LoggedModel (`m-...`) the run's author logged, as recorded with its metrics; refused
    when the run's outputs hold any other model (one attached to it by someone else)."""
    recorded = run.data.tags.get(MODEL_ID_TAG)
    if not recorded:
        raise BadInput(f"run {run.info.run_id} has no recorded model ({MODEL_ID_TAG}): retrain")
    outputs = {o.model_id for o in (run.outputs.model_outputs if run.outputs else [])}
    others = sorted(outputs - {recorded})
    if others:
        raise BadInput(f"run {run.info.run_id} carries models it did not log: {', '.join(others)}")
    return recorded


@dataclass(frozen=True)
class Skipped:
    """A candidate that could not be registered, and why: shown, never silently dropped."""

    run_id: str
    author: str
    reason: str

    def line(self) -> str:
        return f"skipped run {self.run_id} by {self.author or 'unknown'}: {self.reason}"


MAX_SKIPPED = 20


@dataclass(frozen=True)
class Pick:
    run: Run
    existing: ModelVersion | None
    model_id: str | None
    digest: str | None
    skipped: tuple[Skipped, ...]


def _pick(client, settings, experiment_id, criteria, current, name) -> Pick:
    """The best candidate whose model passes vetting (or that already has a version)."""
    skipped: list[Skipped] = []
    while True:
        excluded = replace(criteria, excluded=tuple(s.run_id for s in skipped))
        try:
            run = best_candidate(settings, experiment_id, excluded, _score(current, settings))
        except BadInput as none_left:
            if not skipped:
                raise
            lines = "; ".join(s.line() for s in skipped)
            raise BadInput(f"no candidate can be registered ({lines})") from none_left
        existing = _existing_version(client, name, run.info.run_id)
        if existing is not None:
            return Pick(run, existing, None, None, tuple(skipped))
        try:
            model_id = _model_id(run)
            with tempfile.TemporaryDirectory(prefix="mlops-register-") as folder:
                what = f"the model of run {run.info.run_id}"
                checked = fetch(f"models:/{model_id}", Path(folder), what)
            return Pick(run, None, model_id, checked.digest, tuple(skipped))
        except BadInput as unfit:
            skipped.append(Skipped(run.info.run_id, run.info.user_id, str(unfit)))
            if len(skipped) >= MAX_SKIPPED:
                raise BadInput(f"{MAX_SKIPPED} candidates in a row cannot be registered") from unfit


def _version_tags(run: Run, settings: Settings, metric: float) -> dict[str, str]:
    tags = run.data.tags
    version_tags = {
        SOURCE_RUN_TAG: run.info.run_id,
        metric_tag(ranking_metric(settings)): repr(metric),
        VERSION_GIT_COMMIT_TAG: tags.get(GIT_COMMIT_TAG, "unknown"),
        **{key: tags[key] for key in DATA_TAGS if key in tags},
        HOLDOUT_DIGEST_TAG: tags.get(HOLDOUT_DIGEST_TAG, "unknown"),
        UV_LOCK_TAG: tags.get(UV_LOCK_TAG, "unknown"),
        REGISTERED_BY_TAG: who(),
        REGISTERED_AT_TAG: now_utc(),
    }
    url = workflow_run_url()
    if url:
        version_tags[WORKFLOW_RUN_TAG] = url
    return version_tags


def _min_value_refusal(settings: Settings, metric: float, min_value: float | None) -> str | None:
    check = min_value_check(settings, metric, min_value, label=ranking_metric(settings))
    if check is None or check.held:
        return None
    reason = (
        f"no candidate reaches {check.required}: the best run scores {metric:.4f} (the gate is "
        "[promotion] min_value in mlops.toml: lower it only if the data cannot do better)"
    )
    write_step_summary(f"## Register challenger: refused\n\n{reason}")
    return reason


def register_challenger(
    settings: Settings,
    criteria: CandidateFilter | None = None,
    newer_than_challenger: bool = False,
    min_value: float | None = None,
    dry_run: bool = False,
    any_data: bool = False,
    allow_dirty: bool = False,
) -> Registration:
    """Register the best candidate once and point `challenger` at it: by default among the
    committed runs on the current data (`any_data`, `allow_dirty` widen it)."""
    criteria = criteria or CandidateFilter()
    if not any_data:
        criteria = replace(criteria, holdout_digest=holdout_digest(load_split(settings)))
    criteria = replace(criteria, clean_only=not allow_dirty)
    min_value = settings.promotion.min_value if min_value is None else min_value
    with open_registry(settings, "ci") as registry:
        client, name = registry.client, registry.name
        experiment_id = registry.experiment_id(settings.tracking.experiment, create=False)
        current = registry.version(CHALLENGER)
        if newer_than_challenger:
            criteria = _after(client, current, criteria)
        pick = _pick(client, settings, experiment_id, criteria, current, name)
        run, existing = pick.run, pick.existing
        note = _newest_note(client, settings, experiment_id, run)
        metric = run.data.metrics[ranking_metric(settings)]
        refusal = _min_value_refusal(settings, metric, min_value)
        if refusal:
            return Registration(run, metric, None, False, dry_run, pick.skipped, note, refusal)
        if dry_run:
            number = existing.version if existing else None
            decision = Registration(run, metric, number, False, True, pick.skipped, note)
            write_step_summary(decision.markdown(settings))
            return decision
        created = False
        if existing is None:
            existing, created = _register(client, name, pick, settings, metric)
        registry.move(CHALLENGER, existing, expecting({CHALLENGER: current}))
    registration = Registration(run, metric, existing.version, created, False, pick.skipped, note)
    write_step_summary(registration.markdown(settings))
    return registration


def _register(
    client: MlflowClient, name: str, pick: Pick, settings: Settings, metric: float
) -> tuple[ModelVersion, bool]:
    """A new version of the picked run's model, whose files were vetted and pinned in `_pick`:
    a pickle, custom code or an unexpected type never gets this far (see `model_files`).

    The server registers a run once: when another process got there first, its version is
    the one to use, (version, False)."""
    run, model_id = pick.run, pick.model_id
    ensure_registered_model(client, name)
    tags = {**_version_tags(run, settings, metric), MODEL_FILES_DIGEST_TAG: pick.digest}
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


def _newest_note(client: MlflowClient, settings: Settings, experiment_id: str, picked: Run) -> str:
    """Why the newest candidate is not the one picked, in words its author recognises."""
    newest = client.search_runs(
        experiment_ids=[experiment_id], filter_string=filter_string(CandidateFilter()),
        order_by=["attributes.start_time DESC"], max_results=1,
    )  # fmt: skip
    if not newest or newest[0].info.run_id == picked.info.run_id:
        return ""
    run, metric = newest[0], ranking_metric(settings)
    tags, who = run.data.tags, run.info.user_id or "someone"
    head = f"not picked: the newest run {run.info.run_id[:8]} by {who}"
    if tags.get(HOLDOUT_DIGEST_TAG) != picked.data.tags.get(HOLDOUT_DIGEST_TAG):
        return f"{head} is on other data than the current (--any-data to include it)"
    if tags.get(DIRTY_TAG) == "true" and picked.data.tags.get(DIRTY_TAG) != "true":
        return f"{head} was made from uncommitted changes (--allow-dirty to include it)"
    theirs, best = run.data.metrics.get(metric), picked.data.metrics[metric]
    shown = f"{theirs:.4f}" if theirs is not None else "missing"
    return (
        f"{head}: {metric} {shown}, below the best candidate on this data, "
        f"run {picked.info.run_id[:8]}: {best:.4f}"
    )


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
    return replace(criteria, newer_than_ms=started)
