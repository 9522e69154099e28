"""The registry's rules, in one place: which version holds which alias, how aliases move, what
"not found" looks like, creating what is missing, and who may move `champion`.

Aliases: `challenger` (best candidate so far), `champion` (in production), `previous-champion`
(what rollback restores). register-challenger, promote, rollback, status, serve and users all
go through this module.
"""

from __future__ import annotations

import os
import time

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from .errors import BadInput
from .settings import Settings

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous-champion"
ALIASES = (CHAMPION, CHALLENGER, PREVIOUS)
NOT_FOUND_CODES = {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"}


def is_not_found(exc: MlflowException) -> bool:
    """MLflow's ways of saying "no such model, version or alias"."""
    return exc.error_code in NOT_FOUND_CODES


def aliased_version(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    """The version behind an alias, or None when the alias (or the model) does not exist."""
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if is_not_found(exc):
            return None
        raise


def require_alias(client: MlflowClient, name: str, alias: str, hint: str) -> ModelVersion:
    """The version behind an alias; `BadInput` with `hint` (what to run first) when none."""
    version = aliased_version(client, name, alias)
    if version is None:
        raise BadInput(f"{name!r} has no {alias} yet: {hint}")
    return version


def move_alias(client: MlflowClient, name: str, alias: str, version: ModelVersion) -> None:
    client.set_registered_model_alias(name, alias, version.version)


def ensure_registered_model(client: MlflowClient, name: str) -> None:
    """Create the registered model when it does not exist yet (grants need it to exist).

    Idempotent under a race: when two verbs both find it missing, the one that loses the
    creation finds it made by the other, which is all it needed."""
    try:
        client.get_registered_model(name)
    except MlflowException as exc:
        if not is_not_found(exc):
            raise
        try:
            client.create_registered_model(name, description="Managed by the mlops command.")
        except MlflowException as lost:
            if lost.error_code != "RESOURCE_ALREADY_EXISTS":
                raise


def ensure_experiment(client: MlflowClient, name: str) -> str:
    """The experiment's id, created when missing; a deleted one is refused, not resurrected."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None and experiment.lifecycle_stage == "deleted":
        raise BadInput(f"experiment {name!r} is deleted on the server; restore or rename it")
    return experiment.experiment_id if experiment else create_experiment(client, name)


def create_experiment(client: MlflowClient, name: str) -> str:
    """Create the experiment; when another verb created it since we looked (two trainers on a
    new project), use theirs: creating is idempotent under a race."""
    try:
        return client.create_experiment(name)
    except MlflowException as lost:
        if lost.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        raced = client.get_experiment_by_name(name)
        if raced is None:
            raise
        return raced.experiment_id


def check_approvers(settings: Settings, verb: str) -> None:
    """In GitHub Actions, only the logins in `[promotion] approvers` (as they stand on main)
    may move `champion`, by `promote` or `rollback` alike. Outside Actions the server's own
    permissions decide."""
    approvers = settings.promotion.approvers
    if not approvers or os.environ.get("GITHUB_ACTIONS") != "true":
        return
    actor = os.environ.get("GITHUB_TRIGGERING_ACTOR") or os.environ.get("GITHUB_ACTOR", "")
    if actor not in approvers:
        raise BadInput(
            f"{actor or 'this actor'} is not in [promotion] approvers and may not {verb}; "
            "nothing moved"
        )


def now_utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
