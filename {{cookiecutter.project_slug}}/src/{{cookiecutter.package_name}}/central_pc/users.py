"""Users and their roles on the team's server, through MLflow's own basic-auth admin client.

The server runs with `default_permission = NO_PERMISSIONS`: a user sees nothing until granted.
A role is a fixed set of grants on the configured experiment, its decisions experiment
(`<experiment>-decisions`, where promote logs each decision) and the registered model:

| role     | experiment | decisions | registered model | for                                  |
|----------|------------|-----------|------------------|--------------------------------------|
| `reader` | READ       | READ      | READ             | the team manager, reviewers          |
| `member` | EDIT       | READ      | READ             | model developers: log runs from Colab |
| `ci`     | READ       | EDIT      | EDIT             | GitHub Actions: register, promote    |

The CI user needs no MANAGE: the project never deletes an alias (see `rollback`), so it cannot
delete the model or grant anything to anyone. It writes runs only to the decisions experiment,
which no verb searches for candidates.

A grant on a resource that does not exist yet succeeds and means nothing, so all three are
created first. `set-role` gives an existing user a role's grants (a changed role, or the grants
a newer version of the project adds).

Admin commands talk to the server on this PC (`[server] host/port`) as the admin whose
password `mlops server start` stored in the data dir, unless MLFLOW_TRACKING_USERNAME and
MLFLOW_TRACKING_PASSWORD name another admin.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ..errors import BadInput, ServerUnavailable
from ..settings import Settings
from ..tracking import connection
from ..tracking.mlflow_environment import HTTP_DEFAULTS, environment, unless_set
from ..tracking.model_registry import ensure_experiment, ensure_registered_model
from .tracking_server import (
    ADMIN_USERNAME,
    ServerPaths,
    admin_url,
    check_password,
    read_secret_file,
    write_secret,
)

ROLES = {
    "reader": {"experiment": "READ", "decisions": "READ", "registered_model": "READ"},
    "member": {"experiment": "EDIT", "decisions": "READ", "registered_model": "READ"},
    "ci": {"experiment": "READ", "decisions": "EDIT", "registered_model": "EDIT"},
}
RESOURCE_TYPES = {"experiment": "experiment", "decisions": "experiment"}
# Basic auth splits "user:password" on the first colon; keep names plain
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")


@dataclass(frozen=True)
class Admin:
    url: str
    username: str
    password: str
    password_file: str | None = None  # where the password came from, if it came from a file


def admin(settings: Settings) -> Admin:
    """The admin's credentials: MLflow's own variables when set, else the data dir's file."""
    url = admin_url(settings)
    username = os.environ.get("MLFLOW_TRACKING_USERNAME")
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if username and password:
        return Admin(url, username, password)
    path = ServerPaths.from_settings(settings).admin_password_file
    if not path.is_file():
        raise BadInput(
            f"no admin password at {path}: run `mlops server start` on this PC first, or set "
            "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
        )
    return Admin(url, ADMIN_USERNAME, read_secret_file(path), str(path))


@contextmanager
def session(who: Admin) -> Iterator[None]:
    """MLflow reads credentials from the environment on every request: set them, then restore."""
    login = {
        **unless_set(HTTP_DEFAULTS),
        "MLFLOW_TRACKING_USERNAME": who.username,
        "MLFLOW_TRACKING_PASSWORD": who.password,
    }
    try:
        with environment(login), connection.server_errors(who.url):
            yield
    except ServerUnavailable as exc:
        if exc.status != 403 or who.username == ADMIN_USERNAME:
            raise
        raise ServerUnavailable(
            f"{exc}; admin verbs run as the login exported in MLFLOW_TRACKING_USERNAME "
            f"({who.username!r}): unset it and MLFLOW_TRACKING_PASSWORD to use the admin's "
            "password file"
        ) from None


def auth_client(url: str):
    from mlflow.server import get_app_client  # Flask: only the central PC installs it

    return get_app_client("basic-auth", tracking_uri=url)


def check_username(name: str) -> str:
    if not USERNAME.match(name):
        raise BadInput(
            f"invalid user name {name!r}: letters, digits and . _ @ + - (at most 64 characters)"
        )
    return name


def _code(exc: MlflowException) -> str:
    return exc.error_code or ""


def ensure_resources(client: MlflowClient, settings: Settings) -> dict[str, str]:
    """The experiments and registered model a role grants on, created when missing (a grant on
    a resource that does not exist yet succeeds and means nothing); each one's id by kind."""
    ensure_registered_model(client, settings.model.registered_name)
    return {
        "experiment": ensure_experiment(client, settings.tracking.experiment),
        "decisions": ensure_experiment(client, settings.tracking.decisions_experiment),
        "registered_model": settings.model.registered_name,
    }


def _grants(role: str) -> str:
    return ", ".join(f"{permission} on {kind}" for kind, permission in ROLES[role].items())


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise BadInput(f"unknown role {role!r} ({', '.join(ROLES)})")


@contextmanager
def _granting(settings: Settings) -> Iterator[tuple]:
    """As the admin: MLflow's auth client, and the resources a role grants on, created first."""
    who = admin(settings)
    with session(who):
        resources = ensure_resources(MlflowClient(tracking_uri=who.url), settings)
        yield auth_client(who.url), resources


def _grant_role(client, name: str, role: str, resources: dict, replacing: bool = False) -> None:
    """Each of the role's grants; `replacing` first revokes what the user holds there (MLflow
    refuses a second grant on one resource)."""
    for kind, permission in ROLES[role].items():
        resource_type, resource = RESOURCE_TYPES.get(kind, kind), resources[kind]
        if replacing:
            try:
                client.revoke_user_permission(name, resource_type, resource)
            except MlflowException as exc:
                if _code(exc) != "RESOURCE_DOES_NOT_EXIST":
                    raise
        client.grant_user_permission(name, resource_type, resource, permission)


def add_user(settings: Settings, name: str, role: str, password: str) -> str:
    """Create the user and grant the role; nothing is left behind when a step fails."""
    check_username(name)
    check_password(password)
    _check_role(role)
    with _granting(settings) as (client, resources):
        try:
            client.create_user(name, password)
        except MlflowException as exc:
            if _code(exc) == "RESOURCE_ALREADY_EXISTS":
                raise BadInput(
                    f"user {name!r} already exists (mlops server set-role, set-password, or "
                    "remove-user)"
                ) from None
            raise
        try:
            _grant_role(client, name, role, resources)
        except BaseException:
            client.delete_user(name)
            raise
    return f"created {name!r} as {role}: {_grants(role)} ({_names(settings)})"


def set_role(settings: Settings, name: str, role: str) -> str:
    """Give an existing user exactly the role's grants on the team's resources: a rerun
    changes nothing, and a project upgrade's new grants reach users made before it."""
    check_username(name)
    _check_role(role)
    with _granting(settings) as (client, resources):
        try:
            client.get_user(name)
        except MlflowException as exc:
            raise _missing_user(exc, name) from None
        _grant_role(client, name, role, resources, replacing=True)
    return f"{name!r} is now {role}: {_grants(role)} ({_names(settings)})"


def _names(settings: Settings) -> str:
    tracking = settings.tracking
    return (
        f"{tracking.experiment!r}, {tracking.decisions_experiment!r} / "
        f"{settings.model.registered_name!r}"
    )


def set_password(settings: Settings, name: str, password: str) -> str:
    check_username(name)
    check_password(password)
    who = admin(settings)
    own = name == who.username  # MLflow asks for the current password when it is your own
    with session(who):
        try:
            auth_client(who.url).update_user_password(
                name, password, current_password=who.password if own else None
            )
        except MlflowException as exc:
            raise _missing_user(exc, name) from None
    if own and who.password_file:
        write_secret(ServerPaths.from_settings(settings).admin_password_file, password)
    return f"changed the password of {name!r}"


def remove_user(settings: Settings, name: str) -> str:
    check_username(name)
    who = admin(settings)
    if name == who.username:
        raise BadInput(f"{name!r} is the account these commands use: it cannot remove itself")
    with session(who):
        try:
            auth_client(who.url).delete_user(name)
        except MlflowException as exc:
            raise _missing_user(exc, name) from None
    return f"removed {name!r} and their permissions"


def _missing_user(exc: MlflowException, name: str) -> Exception:
    if _code(exc) == "RESOURCE_DOES_NOT_EXIST":
        return BadInput(f"no user {name!r} on the server")
    return exc
