"""`mlops status`: which version holds each alias, with its scores and source run."""

from __future__ import annotations

import time
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from . import tracking
from .candidates import ranking_metric
from .registry import ALIASES, aliased_version
from .report import Table
from .settings import Settings
from .tag_keys import metric_tag, promotion_metric_tag


@dataclass(frozen=True)
class AliasedVersion:
    alias: str
    version: ModelVersion | None

    def tag_value(self, key: str) -> str:
        value = self.version.tags.get(key) if self.version else None
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
    """The validation score from registration, the holdout score from promotion (if any)."""
    validation, holdout = ranking_metric(settings), settings.metric.primary
    table = Table(
        ["alias", "version", validation, f"{holdout} (holdout)", "source run", "registered"]
    )
    for row in status_rows(settings):
        version = row.version
        table.add(
            row.alias,
            version.version if version else "-",
            row.tag_value(metric_tag(validation)),
            row.tag_value(promotion_metric_tag(holdout)),
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
