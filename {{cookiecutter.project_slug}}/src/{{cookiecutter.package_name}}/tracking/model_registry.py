"""MLflow's model registry as this project uses it: which version holds which alias, how aliases
move, what "not found" looks like, and creating what is missing.

Aliases: `challenger` (best candidate so far), `champion` (in production), `previous-champion`
(what rollback restores). register-challenger, promote, rollback, status, serve, users and
`train --like` all go through this module.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from ..errors import BadInput
from .guard_aliases import MOVED_CODE, expected_header, moved_aliases, moved_before

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous-champion"
ALIASES = (CHAMPION, CHALLENGER, PREVIOUS)
NOT_FOUND_CODES = {"RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"}
ALIAS_ENDPOINT = "/api/2.0/mlflow/registered-models/alias"


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


Expected = dict[str, str | None]
"""The aliases a verb read and is replacing: alias -> version, None for unset."""


def expecting(read: dict[str, ModelVersion | None]) -> Expected:
    """What a verb read before it worked (alias -> version): the state its move insists on."""
    return {alias: str(version.version) if version else None for alias, version in read.items()}


def current(client: MlflowClient, name: str, aliases: Iterable[str]) -> dict[str, str]:
    """The versions behind `aliases` now, in one request (the model lists all its aliases)."""
    try:
        held = client.get_registered_model(name).aliases
    except MlflowException as exc:
        if is_not_found(exc):
            return {}
        raise
    return {alias: str(held[alias]) for alias in aliases if alias in held}


def move_alias(
    client: MlflowClient, name: str, alias: str, version: ModelVersion, expected: Expected
) -> Expected:
    """Move `alias` only if the aliases in `expected` still hold, else `BadInput` (exit 2) and
    nothing written: checked here right before the write, and again by the team's server under
    its lock (`guard_aliases`), so two verbs at once end as if run one after the other.
    Returns what the next move of the same verb expects."""
    from mlflow.protos.model_registry_pb2 import SetRegisteredModelAlias
    from mlflow.utils.credentials import get_default_host_creds
    from mlflow.utils.rest_utils import call_endpoint

    target, now = str(version.version), current(client, name, {*expected, alias})
    _refuse_moved(expected, now, moved_before(expected, now, alias, target))
    if now.get(alias) == target:
        return {**expected, alias: target}  # the same move, made meanwhile by a twin run
    body = json.dumps({"name": name, "alias": alias, "version": target})
    try:
        call_endpoint(
            get_default_host_creds(client.tracking_uri), ALIAS_ENDPOINT, "POST", body,
            SetRegisteredModelAlias.Response(), extra_headers=expected_header(expected),
        )  # fmt: skip
    except MlflowException as exc:
        if exc.error_code == MOVED_CODE:
            raise BadInput(f"{exc.message}: nothing was changed; run it again") from None
        raise
    return {**expected, alias: target}


def check_unmoved(client: MlflowClient, name: str, expected: Expected) -> None:
    """`BadInput` when an alias the verb read has moved since (another verb ran meanwhile)."""
    now = current(client, name, expected)
    _refuse_moved(expected, now, moved_aliases(expected, now))


def _refuse_moved(expected: Expected, now: dict[str, str], moved: list[str]) -> None:
    if moved:
        alias = moved[0]
        raise BadInput(
            f"{alias} moved while this ran (version {expected[alias] or 'unset'} -> "
            f"{now.get(alias) or 'unset'}): nothing was changed; run it again"
        )


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
