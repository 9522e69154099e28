"""The model registry: which version holds which alias, and how aliases move.

Aliases: `challenger` (best candidate so far), `champion` (in production),
`previous-champion` (what rollback restores).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from . import tracking
from .report import Table
from .settings import Settings

CHAMPION, CHALLENGER, PREVIOUS = "champion", "challenger", "previous-champion"
ALIASES = (CHAMPION, CHALLENGER, PREVIOUS)


@dataclass(frozen=True)
class AliasedVersion:
    alias: str
    version: ModelVersion | None
    metric: float | None


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


def status_rows(settings: Settings) -> list[AliasedVersion]:
    uri = tracking.connect(settings)
    client = MlflowClient()
    name, metric = settings.model.registered_name, settings.metric.primary
    with tracking.server_errors(uri):
        rows = []
        for alias in ALIASES:
            version = aliased_version(client, name, alias)
            value = version.tags.get(f"mlops.metric.{metric}") if version else None
            rows.append(AliasedVersion(alias, version, float(value) if value else None))
    return rows


def status(settings: Settings) -> str:
    """`mlops status`: a table of aliases, versions, metrics and source runs."""
    metric = settings.metric.primary
    table = Table(["alias", "version", metric, "source run", "created"])
    for row in status_rows(settings):
        version = row.version
        table.add(
            row.alias,
            version.version if version else "-",
            f"{row.metric:.4f}" if row.metric is not None else "-",
            (version.run_id or "-") if version else "-",
            _when(version.creation_timestamp) if version else "-",
        )
    return f"model {settings.model.registered_name!r} on {settings.tracking_uri}\n{table.text()}"


def _when(millis: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(millis / 1000)) if millis else "-"
