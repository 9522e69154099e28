"""Each promotion decision as one run of the decisions experiment: its figures, and its picture
as an artifact the MLflow UI shows.

Why beside the team's experiment and not in it: the CI user writes here (EDIT), but only reads
the experiment that holds the candidates, so a leaked CI password can never log a candidate.
register-challenger searches the team's experiment only; nothing here can be picked.

A server whose CI user lacks the grant (a project upgraded from before the decisions experiment)
still decides: the picture stays on the deciding machine, and the verdict says which command
grants the right (`mlops server set-role <user> --role ci`).
"""

from __future__ import annotations

import time
from contextlib import suppress
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.entities import Metric, Param
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

from ..settings import Settings
from ..tracking.connection import run_url
from ..tracking.model_registry import ensure_experiment
from ..tracking.provenance import run_tags, workflow_run_url
from ..tracking.tag_keys import (
    DECISION_DRY_RUN_TAG,
    DECISION_MODEL_TAG,
    DECISION_VERDICT_TAG,
    WORKFLOW_RUN_TAG,
)

PICTURE_FOLDER = "decision"


@dataclass(frozen=True)
class Logged:
    """Where the decision went: the run's id, or why it is not on the server."""

    run_id: str | None = None
    url: str = ""
    missing: str = ""

    def line(self) -> str:
        if self.run_id:
            return f"decision run: {self.url}"
        return f"decision not logged on the server: {self.missing}"


def log_decision(
    client: MlflowClient, settings: Settings, name: str, verdict, dry_run: bool
) -> Logged:
    """Five requests: the experiment's lookup, the run with its tags, its figures and
    parameters, the picture, the run's end. Only a refusal of the grant is tolerated."""
    experiment_name = settings.tracking.decisions_experiment
    try:
        experiment_id = ensure_experiment(client, experiment_name)
        run = client.create_run(
            experiment_id, tags=_tags(settings, name, verdict, dry_run),
            run_name=f"v{verdict.challenger.version} {_verdict(verdict)}",
        )  # fmt: skip
    except MlflowException as exc:
        if not forbidden(exc):
            raise
        return Logged(missing=f"the CI user may not write to {experiment_name!r}: "
                              "mlops server set-role <user> --role ci")  # fmt: skip
    run_id = run.info.run_id
    try:
        _fill(client, run, settings, verdict)
    except BaseException:
        with suppress(Exception):  # the first failure is the one to report
            client.set_terminated(run_id, "FAILED")  # no run stays RUNNING; nothing moves
        raise
    client.set_terminated(run_id)
    return Logged(run_id, run_url(client.tracking_uri, experiment_id, run_id))


def _fill(client: MlflowClient, run, settings: Settings, verdict) -> None:
    now = int(time.time() * 1000)
    metrics = [Metric(key, value, now, 0) for key, value in figures(verdict).items()]
    params = [Param(key, value) for key, value in parameters(settings, verdict).items()]
    client.log_batch(run.info.run_id, metrics=metrics, params=params)
    if verdict.picture is not None:  # to the run's own location: no lookup of the run first
        artifacts = get_artifact_repository(run.info.artifact_uri, tracking_uri=client.tracking_uri)
        artifacts.log_artifact(str(verdict.picture), PICTURE_FOLDER)


def forbidden(exc: MlflowException) -> bool:
    return exc.error_code == "PERMISSION_DENIED" or "error code 403" in str(exc)


def _verdict(verdict) -> str:
    return "promote" if verdict.passed else "refuse"


def _tags(settings: Settings, name: str, verdict, dry_run: bool) -> dict[str, str]:
    tags = {
        **run_tags(settings.root, kind="decision"),
        DECISION_MODEL_TAG: f"{name} v{verdict.challenger.version}",
        DECISION_VERDICT_TAG: _verdict(verdict),
        DECISION_DRY_RUN_TAG: str(dry_run).lower(),
    }
    url = workflow_run_url()
    return {**tags, WORKFLOW_RUN_TAG: url} if url else tags


def figures(verdict) -> dict[str, float]:
    """Both models' holdout scores, the improvement and its bound, and the verdict as 1/0."""
    found = {"passed": float(verdict.passed)}
    found |= {f"challenger.{key}": value for key, value in verdict.challenger_scores.items()}
    for key, value in (verdict.champion_scores or {}).items():
        found[f"champion.{key}"] = value
    if verdict.improvement is not None:
        found["improvement"] = verdict.improvement.point
        found["improvement_lower_bound"] = verdict.improvement.lower_bound
    return found


def parameters(settings: Settings, verdict) -> dict[str, str]:
    promotion = settings.promotion
    found = {
        "challenger_version": str(verdict.challenger.version),
        "min_improvement": str(promotion.min_improvement),
        "min_value": str(promotion.min_value),
        "confidence": str(promotion.confidence),
    }
    if verdict.champion is not None:
        found["champion_version"] = str(verdict.champion.version)
    return found
