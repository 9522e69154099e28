"""Runs that could not reach the tracking server, kept on disk until `mlops upload-pending`.

A dead tunnel must not cost the training: the fitted model, its params, metrics, tags and both
datasets go into one folder per run (written to a temporary name, then renamed, so a folder is
complete or absent); a tune's folder also holds its whole search (the parent and every trial).
Uploading logs it as a normal candidate run, or as the whole search again, closes what the failed
attempt left behind, and deletes the folder only once the server has everything. Each upload
first claims the folder with an OS lock, so two `upload-pending` at once (two shells, a shell and
the notebook) send each run once; a half-written folder whose writer died is swept away.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import pandas as pd
import skops.io
from filelock import FileLock, Timeout
from mlflow import MlflowClient
from mlflow.entities import RunStatus

from ..errors import BadInput
from ..ml.data import Split
from ..process import alive
from ..settings import Settings
from ..tracking import connection
from ..tracking.datasets import holdout_digest
from ..tracking.model_files import load_skops
from ..tracking.tag_keys import (
    ATTEMPT_TAG,
    HAS_MODEL_TAG,
    HOLDOUT_DIGEST_TAG,
    KIND_TAG,
    UPLOADED_FROM_TAG,
)
from ..variables import PENDING_DIR_ENV
from .runs import PICTURES_DIR, FittedCandidate, log_candidate
from .search_runs import SearchRecord, log_search

DEFAULT_DIR = ".mlops/pending"
RECORD, MODEL, TRAIN, HOLDOUT = "run.json", "model.skops", "train.parquet", "holdout.parquet"
PARTIAL, CLAIM = ".partial", ".claim"
FORMAT = 1


@dataclass(frozen=True)
class PendingRun:
    """One saved run, read back and checked."""

    folder: Path
    experiment: str
    run_name: str | None
    tags: dict[str, str]
    candidate: FittedCandidate
    split: Split
    search: SearchRecord | None = None  # a tune's: the parent and every trial

    @property
    def attempt(self) -> str:
        return self.tags.get(ATTEMPT_TAG, "")


@dataclass(frozen=True)
class Uploaded:
    folder: Path
    run_id: str
    url: str
    already_there: bool = False


def pending_dir(settings: Settings) -> Path:
    """`$MLOPS_PENDING_DIR` (e.g. a Google Drive folder on Colab), else `.mlops/pending`."""
    return Path(os.environ.get(PENDING_DIR_ENV) or settings.resolve(DEFAULT_DIR))


def save(
    settings: Settings,
    candidate: FittedCandidate,
    split: Split,
    tags: dict[str, str],
    run_name: str | None,
    search: SearchRecord | None = None,
) -> Path:
    """Write everything the run (or the search) would have logged; returns the folder."""
    root = pending_dir(settings)
    name = f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    partial = root / f".{name}.{os.getpid()}{PARTIAL}"  # the writer's pid: see `sweep_partials`
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    sweep_partials(root)
    partial.mkdir(mode=0o700)  # the rows of the team's data: this OS user's only
    partial.chmod(0o700)
    record = {
        "format": FORMAT,
        "experiment": settings.tracking.experiment,
        "run_name": run_name,
        "tags": tags,
        "params": {key: str(value) for key, value in candidate.params.items()},
        "metrics": candidate.metrics,
        "dataset": {"name": split.name, "target": split.target, "source": split.source},
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "search": asdict(search) if search else None,
        "profile": candidate.profile,
    }
    (partial / RECORD).write_text(json.dumps(record, indent=2), encoding="utf-8")
    skops.io.dump(candidate.pipeline, partial / MODEL)
    if candidate.pictures:
        (partial / PICTURES_DIR).mkdir(mode=0o700)
        for picture, content in candidate.pictures.items():
            (partial / PICTURES_DIR / picture).write_bytes(content)
    _frame(split.x_train, split.y_train, split.target).to_parquet(partial / TRAIN)
    _frame(split.x_test, split.y_test, split.target).to_parquet(partial / HOLDOUT)
    for written in partial.rglob("*"):
        written.chmod(0o700 if written.is_dir() else 0o600)
    return partial.rename(root / name)


def _frame(features: pd.DataFrame, target: pd.Series, name: str) -> pd.DataFrame:
    return features.assign(**{name: target})


def saved_message(error: Exception, folder: Path) -> str:
    """The one line a user reads when the server failed: what, where it is, what to do."""
    return f"{error}; the run is saved in {folder}: upload it later with `mlops upload-pending`"


def folders(settings: Settings) -> list[Path]:
    """Saved runs, oldest first (half-written `.partial` folders are not runs)."""
    root = pending_dir(settings)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def sweep_partials(root: Path) -> None:
    """Remove half-written folders whose writer is gone (killed mid-save): never a run."""
    for partial in root.glob(f".*{PARTIAL}"):
        pid = partial.name.removesuffix(PARTIAL).rsplit(".", 1)[-1]
        if not pid.isdigit() or not alive(int(pid)):
            shutil.rmtree(partial, ignore_errors=True)


@contextmanager
def claimed(folder: Path) -> Iterator[bool]:
    """True while this process holds the folder's claim (an OS lock the kernel frees if the
    holder dies); False when another upload holds it or has already sent it."""
    claim = folder.with_name(f".{folder.name}{CLAIM}")
    lock = FileLock(claim, timeout=0, mode=0o600, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        yield False
        return
    try:
        yield folder.is_dir()
    finally:
        if not folder.exists():
            claim.unlink(missing_ok=True)
        lock.release()


def load(folder: Path) -> PendingRun:
    """Read a saved run back; `BadInput` names the folder when it is damaged."""
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
        if record.get("format") != FORMAT:
            raise ValueError(f"unknown format {record.get('format')!r}")
        pipeline = load_skops(folder / MODEL)
        train, holdout = pd.read_parquet(folder / TRAIN), pd.read_parquet(folder / HOLDOUT)
        dataset = record["dataset"]
        target = dataset["target"]
        split = Split(
            dataset["name"],
            target,
            dataset["source"],
            train.drop(columns=[target]),
            holdout.drop(columns=[target]),
            train[target],
            holdout[target],
        )
        pictures = {
            path.name: path.read_bytes() for path in sorted((folder / PICTURES_DIR).glob("*"))
        }
        candidate = FittedCandidate(pipeline, record["params"], record["metrics"],
                                    pictures=pictures, profile=record.get("profile"))  # fmt: skip
        tags, experiment, run_name = record["tags"], record["experiment"], record["run_name"]
        search = SearchRecord.from_json(record["search"]) if record.get("search") else None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BadInput(f"pending run {folder} is damaged ({exc}); move it away") from None
    if tags.get(HOLDOUT_DIGEST_TAG) != holdout_digest(split):
        raise BadInput(f"pending run {folder}: its holdout does not match its digest tag")
    return PendingRun(folder, experiment, run_name, tags, candidate, split, search)


def upload(settings: Settings, saved: PendingRun, uri: str) -> Uploaded:
    """Log one saved run as a normal candidate run, then delete its folder."""
    experiment_id = connection.experiment_id(saved.experiment, create=True)
    if saved.search:
        return _upload_search(settings, saved, saved.search, uri, experiment_id)
    finished = _close_leftovers(MlflowClient(tracking_uri=uri), experiment_id, saved.attempt)
    if finished:
        run_id = finished
    else:
        tags = {**saved.tags, UPLOADED_FROM_TAG: saved.folder.name}
        run_id, _ = log_candidate(
            saved.candidate,
            saved.split,
            settings,
            tags,
            experiment_id=experiment_id,
            run_name=saved.run_name,
        )
    shutil.rmtree(saved.folder)
    url = connection.run_url(uri, experiment_id, run_id)
    return Uploaded(saved.folder, run_id, url, already_there=bool(finished))


def _upload_search(
    settings: Settings, saved: PendingRun, search: SearchRecord, uri: str, experiment_id: str
) -> Uploaded:
    """The whole search, once: a FINISHED parent of this attempt means an earlier upload (or the
    tune itself) got it all there; otherwise every run of the attempt is a fragment, marked
    FAILED (no longer a candidate), and the search is logged again from the start."""
    client = MlflowClient(tracking_uri=uri)
    runs = _attempt_runs(client, experiment_id, saved.attempt)
    whole = [run for run in runs if run.data.tags.get(KIND_TAG) == "tune"
             and run.info.status == "FINISHED"]  # fmt: skip
    if whole:
        run_id = whole[0].info.run_id
    else:
        for run in runs:
            if run.info.status in ("RUNNING", "FINISHED"):
                client.set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.FAILED))
        record = replace(search, tags={**search.tags, UPLOADED_FROM_TAG: saved.folder.name})
        logged = log_search(record, saved.candidate, saved.split, settings, experiment_id)
        run_id = logged.parent_run_id
    shutil.rmtree(saved.folder)
    url = connection.run_url(uri, experiment_id, run_id)
    return Uploaded(saved.folder, run_id, url, already_there=bool(whole))


def _attempt_runs(client: MlflowClient, experiment_id: str, attempt: str) -> list:
    return client.search_runs(
        experiment_ids=[experiment_id],
        filter_string=f"tags.`{ATTEMPT_TAG}` = '{attempt}'",
        max_results=1000,
    )


def _close_leftovers(client: MlflowClient, experiment_id: str, attempt: str) -> str | None:
    """Mark FAILED the runs the failed attempt left RUNNING; return the id of a run of that
    attempt that did finish with its model (then there is nothing left to upload)."""
    if not attempt:
        return None
    runs = _attempt_runs(client, experiment_id, attempt)
    for run in runs:
        if run.info.status == "RUNNING":
            client.set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.FAILED))
    done = [
        run
        for run in runs
        if run.info.status == "FINISHED" and run.data.tags.get(HAS_MODEL_TAG) == "true"
    ]
    return done[0].info.run_id if done else None


def upload_all(settings: Settings) -> list[Uploaded]:
    """Upload every saved run, oldest first; stops at the first failure (the rest stay). Every
    folder is read once before the server is asked (a damaged one stops everything); a folder
    another upload claims or has sent meanwhile is left to it."""
    root = pending_dir(settings)
    if root.is_dir():
        sweep_partials(root)
    saved = [run for run in map(_loaded, folders(settings)) if run is not None]
    if not saved:
        return []
    with connection.connected(settings) as uri:
        uploaded = []
        with connection.server_errors(uri, "member"):
            for run in saved:
                with claimed(run.folder) as mine:
                    if mine:
                        uploaded.append(upload(settings, run, uri))
        return uploaded


def _loaded(folder: Path) -> PendingRun | None:
    """The saved run, or None when another upload deleted the folder meanwhile."""
    try:
        return load(folder)
    except BadInput:
        if folder.exists():
            raise
        return None
