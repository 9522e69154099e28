"""`mlops status`: which version holds each alias, with its scores and source run."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from mlflow.entities.model_registry import ModelVersion

from ..errors import BadInput
from ..report import Table
from ..settings import Settings
from ..tracking.model_files import fetch_pinned
from ..tracking.model_registry import ALIASES, CHAMPION, PREVIOUS
from ..tracking.tag_keys import metric_tag, promotion_metric_tag
from .candidate_search import ranking_metric
from .session import open_registry


@dataclass(frozen=True)
class AliasedVersion:
    alias: str
    version: ModelVersion | None
    refusal: str | None = None
    """Why the server's files of this version cannot be trusted (see `model_files`); None when
    they are the ones vetted and pinned at registration."""

    @property
    def files(self) -> str:
        if self.version is None:
            return "-"
        return "REFUSED" if self.refusal else "verified"

    def tag_value(self, key: str) -> str:
        value = self.version.tags.get(key) if self.version else None
        return f"{float(value):.4f}" if value else "-"


def status_rows(settings: Settings) -> list[AliasedVersion]:
    """Each alias with its version, whose files are checked against their pinned digest."""
    with open_registry(settings, "reader") as registry:
        versions = [registry.version(alias) for alias in ALIASES]
        distinct = {v.version: v for v in versions if v is not None}  # each downloaded once
        refusals = {number: _refusal(registry.name, v) for number, v in distinct.items()}
    return [
        AliasedVersion(alias, version, refusals[version.version] if version else None)
        for alias, version in zip(ALIASES, versions, strict=True)
    ]


def _refusal(name: str, version: ModelVersion) -> str | None:
    with tempfile.TemporaryDirectory(prefix="mlops-status-") as folder:
        try:
            fetch_pinned(name, version, Path(folder), cached=False)  # the server's copy
        except BadInput as exc:
            return str(exc)
    return None


def status_table(rows: list[AliasedVersion], settings: Settings) -> Table:
    """The validation score from registration, the holdout score from promotion (if any)."""
    validation, holdout = ranking_metric(settings), settings.metric.primary
    table = Table(
        ["alias", "version", validation, f"{holdout} (holdout)", "files", "source run",
         "registered"]
    )  # fmt: skip
    for row in rows:
        version = row.version
        table.add(
            row.alias,
            version.version if version else "-",
            row.tag_value(metric_tag(validation)),
            row.tag_value(promotion_metric_tag(holdout)),
            row.files,
            (version.run_id or "-") if version else "-",
            _when(version.creation_timestamp) if version else "-",
        )
    return table


@dataclass(frozen=True)
class Status:
    text: str
    refusal: str | None
    """Set when a version's files cannot be trusted: the command then exits 2 with it."""


def status(settings: Settings) -> Status:
    """`mlops status`: a table of aliases, versions, metrics, file checks and source runs."""
    rows = status_rows(settings)
    header = f"model {settings.model.registered_name!r} on {settings.tracking_uri}"
    refused = [row for row in rows if row.refusal]
    refusal = f"{refused[0].alias}: {refused[0].refusal}" if refused else None
    notes = "".join(f"\n{note}" for note in _notes(rows))
    return Status(f"{header}\n{status_table(rows, settings).text()}{notes}", refusal)


def _notes(rows: list[AliasedVersion]) -> list[str]:
    """What the table cannot say by itself."""
    held = {row.alias: row.version.version for row in rows if row.version}
    champion = held.get(CHAMPION)
    if champion is not None and held.get(PREVIOUS) == champion:
        return [
            f"{PREVIOUS} = {CHAMPION} (version {champion}): the last move was a "
            "rollback, so there is nothing to roll back to until the next promotion"
        ]
    return []


def _when(millis: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(millis / 1000)) if millis else "-"
