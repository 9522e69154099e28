"""One way into the registry for the verbs that read or move aliases.

promote, rollback, status, register-challenger and serve each need the same five steps: point
MLflow at the configured server, make a client, name the model, translate every failure for the
role the verb needs, and send the first request under the first-contact timeout (a dead tunnel
costs seconds, not MLflow's retries). `open_registry` takes them once; the verbs keep only
their decisions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from ..settings import Settings
from ..tracking import connection
from ..tracking.model_registry import (
    Expected,
    aliased_version,
    check_unmoved,
    move_alias,
    require_alias,
)


class RegistrySession:
    """The registered model on the configured server, for one verb."""

    def __init__(self, client: MlflowClient, name: str) -> None:
        self.client, self.name = client, name
        self._contacted = False

    @contextmanager
    def _request(self) -> Iterator[None]:
        """The session's first request waits `FIRST_CONTACT`; the others MLflow's defaults."""
        if self._contacted:
            yield
            return
        self._contacted = True
        with connection.first_contact():
            yield

    def experiment_id(self, name: str, create: bool) -> str:
        with self._request():
            return connection.experiment_id(name, create)

    def version(self, alias: str) -> ModelVersion | None:
        with self._request():
            return aliased_version(self.client, self.name, alias)

    def require(self, alias: str, hint: str) -> ModelVersion:
        with self._request():
            return require_alias(self.client, self.name, alias, hint)

    def move(self, alias: str, version: ModelVersion, expected: Expected) -> Expected:
        with self._request():
            return move_alias(self.client, self.name, alias, version, expected)

    def check_unmoved(self, expected: Expected) -> None:
        with self._request():
            check_unmoved(self.client, self.name, expected)


@contextmanager
def open_registry(settings: Settings, role: str) -> Iterator[RegistrySession]:
    """The session for a verb that needs `role` (named in the line a 403 becomes)."""
    with connection.connected(settings) as uri, connection.server_errors(uri, role):
        yield RegistrySession(MlflowClient(tracking_uri=uri), settings.model.registered_name)
