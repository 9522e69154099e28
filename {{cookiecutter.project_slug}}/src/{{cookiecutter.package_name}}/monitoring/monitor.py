"""`mlops monitor INPUT`: compare a new table with the champion's reference profile (drift) and,
when it carries the target, score the champion on it (decay); exit 1 when either is beyond
`[monitor]`, so a scheduled workflow fails and GitHub tells the team.

The champion comes as predict gets it (pinned files, verified, loaded by skops); its profile is
inside those verified files. Each check leaves one run of kind `monitor` with the figures
(three requests: start with tags, one batch of metrics, end).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from mlflow import MlflowClient
from mlflow.entities import Metric
from mlflow.entities.model_registry import ModelVersion

from ..errors import BadInput
from ..inference.predict import load_verified, metric_name
from ..inference.tables import table_format
from ..metric_names import validation_metric
from ..profiles.drift import ColumnDrift, compared
from ..profiles.reference import PREDICTION, PROFILE_KEY, readable
from ..report import Table, write_step_summary
from ..settings import Settings
from ..tracking import connection
from ..tracking.model_registry import CHAMPION, require_alias
from ..tracking.provenance import run_tags
from ..tracking.tag_keys import (
    MONITOR_INPUT_TAG,
    MONITOR_MODEL_TAG,
    metric_tag,
    promotion_metric_tag,
)
from .batch_tally import Tally, tally
from .decay import Decay, check_labels, measured

CHUNK_ROWS = 50_000


@dataclass(frozen=True)
class MonitorRequest:
    source: Path
    alias: str = CHAMPION
    record: bool = True
    chunk_rows: int = CHUNK_ROWS


@dataclass(frozen=True)
class Watched:
    model: str
    version: str
    rows: int
    columns: list[ColumnDrift]
    """The input columns, drifted first, then by the size of the shift."""
    prediction: ColumnDrift
    decay: Decay | None
    run_id: str | None = None

    @property
    def drifted(self) -> list[ColumnDrift]:
        return [c for c in [*self.columns, self.prediction] if c.drifted]

    @property
    def alarm(self) -> bool:
        return bool(self.drifted) or bool(self.decay and self.decay.decayed)

    def verdict(self) -> str:
        """One line: what happened and what to do."""
        if not self.alarm:
            return (f"no drift or decay beyond [monitor] in {self.rows:,} rows: "
                    f"{self.model} v{self.version} stays")  # fmt: skip
        found = []
        if self.drifted:
            found.append("drift in " + ", ".join(c.column for c in self.drifted))
        if self.decay and self.decay.decayed:
            found.append("decay: " + self.decay.line())
        return "; ".join(found) + ": retrain, then register-challenger and promote"


def monitor(settings: Settings, request: MonitorRequest,
            show: Callable[[str], None] = lambda _: None) -> Watched:  # fmt: skip
    table_format(request.source, "input")
    if not request.source.is_file():
        raise BadInput(f"input {request.source} does not exist")
    name = settings.model.registered_name
    role = "member" if request.record else "reader"
    with connection.connected(settings) as uri, connection.server_errors(uri, role):
        client = MlflowClient(tracking_uri=uri)
        with connection.first_contact():
            version = require_alias(client, name, request.alias, "run mlops promote first")
        _, model, schema, metadata = load_verified(settings, name, version)
        profile = _reference(metadata, version)
        counts = tally(request.source, model, schema, profile, settings.data.target,
                       request.chunk_rows, show)  # fmt: skip
        if settings.task == "classification" and counts.labelled is not None:
            check_labels(counts.labelled[0], getattr(model, "classes_", None), settings.data.target)
        watched = _compared(settings, version, profile, counts)
        if request.record:
            watched = _with_run(watched, record(client, settings, watched, request.source))
    write_step_summary(job_summary(watched))
    return watched


def _reference(metadata: dict, version: ModelVersion) -> dict:
    if PROFILE_KEY not in metadata:
        raise BadInput(
            f"version {version.version} of {version.name!r} carries no reference profile "
            "(trained before mlops monitor existed): retrain, register-challenger and promote"
        )
    profile = readable(metadata[PROFILE_KEY])
    if profile is None:
        raise BadInput(
            f"version {version.version} of {version.name!r} carries a reference profile this "
            "project did not write: retrain, register-challenger and promote"
        )
    return profile


def _compared(settings: Settings, version: ModelVersion, profile: dict, counts: Tally) -> Watched:
    every = {**profile["columns"], PREDICTION: profile["prediction"]}
    drift = compared(every, counts.counts, settings.monitor.alpha, settings.monitor.min_psi)
    return Watched(
        version.name, str(version.version), counts.rows,
        [d for d in drift if d.column != PREDICTION],
        next(d for d in drift if d.column == PREDICTION),
        _decay(counts.labelled, version, settings),
    )  # fmt: skip


def _decay(labelled, version: ModelVersion, settings: Settings) -> Decay | None:
    if labelled is None or len(labelled[0]) == 0:
        return None
    primary = settings.metric.primary
    # promote's own holdout score; else (an alias set by hand) the cross-validated one
    recorded = version.tags.get(promotion_metric_tag(primary)) or version.tags.get(
        metric_tag(validation_metric(primary))
    )
    if recorded is None:
        raise BadInput(f"version {version.version} has no recorded {primary}: promote it first")
    target, predictions = labelled
    return measured(target, predictions, float(recorded), settings)


def _with_run(watched: Watched, run_id: str) -> Watched:
    return replace(watched, run_id=run_id)


def record(client: MlflowClient, settings: Settings, watched: Watched, source: Path) -> str:
    """One run of kind `monitor` in the project's experiment: never a candidate."""
    experiment = connection.experiment_id(settings.tracking.experiment, create=False)
    tags = {
        **run_tags(settings.root, kind="monitor"),
        MONITOR_MODEL_TAG: f"{watched.model} v{watched.version}",
        MONITOR_INPUT_TAG: source.name,
    }
    run = client.create_run(experiment, tags=tags, run_name=f"monitor-v{watched.version}")
    now = int(time.time() * 1000)
    metrics = [Metric(key, value, now, 0) for key, value in figures(watched).items()]
    client.log_batch(run.info.run_id, metrics=metrics)
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def figures(watched: Watched) -> dict[str, float]:
    found = {"rows": float(watched.rows), "alarm": float(watched.alarm),
             "drifted_columns": float(len(watched.drifted))}  # fmt: skip
    for drift in [*watched.columns, watched.prediction]:
        key = metric_name(drift.column)
        found[f"psi.{key}"] = drift.psi
        found[f"p.{key}"] = drift.p_value
    if watched.decay is not None:
        decay = watched.decay
        found |= {f"decay.{decay.metric}": decay.now, f"decay.{decay.metric}.low": decay.low,
                  f"decay.{decay.metric}.high": decay.high,
                  f"decay.{decay.metric}.before": decay.before}  # fmt: skip
    return found


def drift_table(watched: Watched) -> Table:
    table = Table(["column", "drift", "psi", "p (corrected)", "missing", "outside categories"])
    for drift in [*watched.columns, watched.prediction]:
        table.add(drift.column, "DRIFT" if drift.drifted else "ok", f"{drift.psi:.3f}",
                  _p(drift.p_value), f"{_percent(drift.missing_before)} -> "
                  f"{_percent(drift.missing_now)}",
                  "" if drift.other_now is None else _percent(drift.other_now))  # fmt: skip
    return table


def job_summary(watched: Watched) -> str:
    heading = "Retrain" if watched.alarm else "No action"
    parts = [f"### Monitor: {heading}", watched.verdict(), drift_table(watched).markdown()]
    return "\n\n".join(parts)


def _percent(share: float) -> str:
    return f"{100 * share:.1f}" + "%"


def _p(value: float) -> str:
    return "< 0.0001" if value < 1e-4 else f"{value:.4f}"
