"""`mlops predict`: score a CSV or Parquet file with the verified champion (or another alias or
version), a chunk at a time, into a file that appears whole or not at all.

The model comes the way promote and serve get it: files pinned at registration, checked
against their digest before a byte is parsed, vetted against the trusted types, loaded by skops
(never `mlflow.pyfunc.load_model` on registry bytes). Each batch leaves a record: a run of kind
`predict` on the tracking server (model, version, file digests, rows, a summary of the
predictions) and a `<output>.model.json` beside the output. The server is needed to know which
version the alias names today: without it nothing is scored (exit 3).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Metric
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import Model
from mlflow.types.schema import Schema

from ..errors import BadInput
from ..report import Table, write_step_summary
from ..settings import Settings
from ..tracking import connection
from ..tracking.model_files import CheckedModel, fetch_verified
from ..tracking.model_registry import CHAMPION, is_not_found, require_alias
from ..tracking.provenance import run_tags
from ..tracking.tag_keys import (
    PREDICT_DIGEST_TAG,
    PREDICT_INPUT_DIGEST_TAG,
    PREDICT_INPUT_TAG,
    PREDICT_MODEL_TAG,
)
from .input_checks import check_columns, conform, text_columns
from .tables import AtomicTable, read_chunks, table_format

CHUNK_ROWS = 50_000
WORK_DIR = ".mlops/predict"
PREDICTION = "prediction"
METRIC_NAME = re.compile(r"[^\w\-. /]")


@dataclass(frozen=True)
class PredictRequest:
    source: Path
    output: Path
    alias: str = CHAMPION
    version: int | None = None
    keep: tuple[str, ...] = ()
    proba: bool = False
    record: bool = True
    chunk_rows: int = CHUNK_ROWS


@dataclass(frozen=True)
class Scored:
    output: Path
    rows: int
    model: str
    version: str
    digest: str
    run_id: str | None
    seconds: float
    summary: dict[str, float] = field(default_factory=dict)
    """What was predicted: `rows`, then each class's share or the value's moments."""


def predict(
    settings: Settings, request: PredictRequest, show: Callable[[str], None] = lambda _: None
) -> Scored:
    """Check the paths, fetch and load the verified model, score every chunk, record the batch,
    then rename the output into place."""
    check_paths(request)
    started = time.monotonic()
    name = settings.model.registered_name
    role = "member" if request.record else "reader"
    with connection.connected(settings) as uri, connection.server_errors(uri, role):
        client = MlflowClient(tracking_uri=uri)
        with connection.first_contact():
            version = chosen_version(client, name, request)
        checked, model, schema, _ = load_verified(settings, name, version)
        if request.proba and not hasattr(model, "predict_proba"):
            raise BadInput("--proba: this model gives no probabilities (a regression?)")
        with AtomicTable(request.output) as table:
            summary = score_all(model, schema, request, table, Summary(settings.task), show)
            batch = Batch(name, version, checked.digest, request, table.rows, summary,
                          file_sha256(request.source))  # fmt: skip
            run_id = record(client, settings, batch) if request.record else None
            write_sidecar(request.output, batch, run_id)
            table.commit()
    done = Scored(request.output, table.rows, name, str(version.version), checked.digest, run_id,
                  time.monotonic() - started, summary.metrics())  # fmt: skip
    write_step_summary(job_summary(done))
    return done


def check_paths(request: PredictRequest) -> None:
    """Everything about the files that can be known before a request is made."""
    table_format(request.source, "input")
    table_format(request.output, "output")
    if not request.source.is_file():
        raise BadInput(f"input {request.source} does not exist")
    if not request.output.parent.is_dir():
        raise BadInput(f"output folder {request.output.parent} does not exist")
    if request.output.resolve() == request.source.resolve():
        raise BadInput("the output would overwrite the input: choose another --output")
    if PREDICTION in request.keep:
        raise BadInput(f"--keep {PREDICTION}: that is the output's own column")


def chosen_version(client: MlflowClient, name: str, request: PredictRequest) -> ModelVersion:
    if request.version is None:
        return require_alias(client, name, request.alias, "run mlops promote first")
    try:
        return client.get_model_version(name, str(request.version))
    except MlflowException as exc:
        if is_not_found(exc):
            raise BadInput(f"{name!r} has no version {request.version}") from None
        raise


def load_verified(settings: Settings, name: str, version: ModelVersion):
    """The pipeline, its input schema and its MLmodel metadata, from files verified against the
    pinned digest."""
    root = settings.resolve(WORK_DIR)
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"v{version.version}-", dir=root) as folder:
        checked: CheckedModel = fetch_verified(name, version, Path(folder))
        spec = Model.load(str(checked.folder))
        model = checked.load()
    if spec.signature is None or spec.signature.inputs is None:
        raise BadInput(f"version {version.version} of {name!r} has no input signature")
    return checked, model, spec.signature.inputs, spec.metadata or {}


@dataclass
class Summary:
    """What the batch predicted, kept as it streams: label counts, or a value's moments."""

    task: str
    labels: Counter = field(default_factory=Counter)
    total: float = 0.0
    squares: float = 0.0
    low: float = np.inf
    high: float = -np.inf
    rows: int = 0

    def add(self, predictions: np.ndarray) -> None:
        self.rows += len(predictions)
        if self.task == "classification":
            self.labels.update(predictions.tolist())
            return
        values = predictions.astype(float)
        self.total += float(values.sum())
        self.squares += float((values**2).sum())
        self.low, self.high = min(self.low, values.min()), max(self.high, values.max())

    def metrics(self) -> dict[str, float]:
        found = {"rows": float(self.rows)}
        if self.task == "classification":
            found |= {f"share.{metric_name(label)}": count / self.rows
                      for label, count in self.labels.items()}  # fmt: skip
        elif self.rows:
            mean = self.total / self.rows
            spread = max(self.squares / self.rows - mean**2, 0.0) ** 0.5
            found |= {"prediction_mean": mean, "prediction_std": spread,
                      "prediction_min": self.low, "prediction_max": self.high}  # fmt: skip
        return found


def score_all(model, schema: Schema, request: PredictRequest, table: AtomicTable,
              summary: Summary, show: Callable[[str], None]) -> Summary:  # fmt: skip
    started, first_row = time.monotonic(), 1
    text = frozenset(request.keep) | text_columns(schema)
    for chunk in read_chunks(request.source, request.chunk_rows, text):
        if chunk.empty:
            continue  # a file of headers only: refused below, never handed to the model
        if first_row == 1:
            check_columns(chunk, schema)
            _check_keep(chunk, request.keep)
        features = conform(chunk, schema, first_row)
        scored = scored_chunk(model, features, chunk, request)
        table.write(scored)
        summary.add(scored[PREDICTION].to_numpy())
        first_row += len(chunk)
        rate = (first_row - 1) / max(time.monotonic() - started, 1e-9)
        show(f"{first_row - 1:,} rows, {rate:,.0f} rows/s")
    if summary.rows == 0:
        raise BadInput(f"input {request.source.name} holds no rows")
    return summary


def _check_keep(chunk: pd.DataFrame, keep: tuple[str, ...]) -> None:
    missing = [name for name in keep if name not in chunk.columns]
    if missing:
        raise BadInput(f"--keep: the input has no column {', '.join(missing)}")


def scored_chunk(model, features: pd.DataFrame, chunk: pd.DataFrame,
                 request: PredictRequest) -> pd.DataFrame:  # fmt: skip
    """The kept input columns, the prediction, and (--proba) one column per class."""
    out = chunk[list(request.keep)].copy()
    out[PREDICTION] = model.predict(features)
    if request.proba:
        for label, values in zip(model.classes_, model.predict_proba(features).T, strict=True):
            out[f"proba_{label}"] = values
    return out


@dataclass(frozen=True)
class Batch:
    model: str
    version: ModelVersion
    digest: str
    request: PredictRequest
    rows: int
    summary: Summary

    input_digest: str


def record(client: MlflowClient, settings: Settings, batch: Batch) -> str:
    """One run of kind `predict` in the project's experiment: three requests (start with its
    tags, one batch of metrics, end). Never a candidate: register-challenger skips it."""
    experiment = connection.experiment_id(settings.tracking.experiment, create=False)
    via = f" ({batch.request.alias})" if batch.request.version is None else ""
    tags = {
        **run_tags(settings.root, kind="predict"),
        PREDICT_MODEL_TAG: f"{batch.model} v{batch.version.version}{via}",
        PREDICT_DIGEST_TAG: batch.digest,
        PREDICT_INPUT_TAG: batch.request.source.name,
        PREDICT_INPUT_DIGEST_TAG: batch.input_digest,
    }
    run = client.create_run(experiment, tags=tags, run_name=f"predict-v{batch.version.version}")
    now = int(time.time() * 1000)
    metrics = [Metric(key, value, now, 0) for key, value in batch.summary.metrics().items()]
    client.log_batch(run.info.run_id, metrics=metrics)
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def job_summary(done: Scored) -> str:
    """The batch in a GitHub job summary: which model, how many rows, how long, what came out."""
    facts = Table(["model", "version", "files (sha256)", "rows", "seconds", "output"])
    facts.add(done.model, done.version, f"`{done.digest[:12]}`", f"{done.rows:,}",
              f"{done.seconds:.1f}", done.output.name)  # fmt: skip
    spread = Table(["prediction", "value"])
    for key, value in done.summary.items():
        if key != "rows":
            spread.add(key.removeprefix("share."), f"{value:.4g}")
    return f"### Batch predictions\n\n{facts.markdown()}\n\n{spread.markdown()}"


def write_sidecar(output: Path, batch: Batch, run_id: str | None) -> None:
    """`<output>.model.json`: which model made the file, written before the file appears."""
    sidecar = output.with_name(f"{output.name}.model.json")
    partial = sidecar.with_name(f".{sidecar.name}.partial-{os.getpid()}")
    facts = {
        "model": batch.model, "version": str(batch.version.version),
        "alias": batch.request.alias if batch.request.version is None else None,
        "model_files_sha256": batch.digest, "rows": batch.rows,
        "input": batch.request.source.name, "input_sha256": batch.input_digest,
        "run_id": run_id, "scored_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }  # fmt: skip
    partial.write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, sidecar)


def file_sha256(path: Path) -> str:
    total = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            total.update(block)
    return total.hexdigest()


def metric_name(label: object) -> str:
    return METRIC_NAME.sub("_", str(label))
