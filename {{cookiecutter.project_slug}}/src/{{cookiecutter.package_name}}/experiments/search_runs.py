"""A whole search as it is logged: one parent run and a child run per trial.

`tune` logs it as soon as every trial is fitted; when the server dies on the way, `pending`
keeps the same record on disk and `upload-pending` logs it later, so the search comes back whole
(the parent, every trial, the best one's model) and not as one orphan run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from tqdm import tqdm

from ..ml.data import Split
from ..settings import Settings
from ..tracking.tag_keys import BEST_RUN_TAG
from .runs import FittedCandidate, log_candidate, logged_run


@dataclass(frozen=True)
class TrialRecord:
    """One child run: its name, tags, params and validation scores (no model)."""

    name: str
    tags: dict[str, str]
    params: dict[str, str]
    metrics: dict[str, float]


@dataclass(frozen=True)
class SearchRecord:
    """The parent run and its children, in order; `trials[best]` also logs the fitted model."""

    run_name: str | None
    tags: dict[str, str]
    params: dict[str, str]
    metrics: dict[str, float]
    trials: list[TrialRecord]
    best: int

    @classmethod
    def from_json(cls, data: dict) -> SearchRecord:
        trials = [TrialRecord(**trial) for trial in data["trials"]]
        return cls(**{**data, "trials": trials})


@dataclass(frozen=True)
class LoggedSearch:
    parent_run_id: str
    best_run_id: str
    model_uri: str


def log_search(
    record: SearchRecord,
    best: FittedCandidate,
    split: Split,
    settings: Settings,
    experiment_id: str,
    progress: bool = False,
) -> LoggedSearch:
    """Log the parent, then each child: 3 requests per trial, the model only for the best. The
    parent ends last, so a FINISHED parent means the whole search is on the server."""
    client = MlflowClient(tracking_uri=settings.tracking_uri)
    best_run_id = model_uri = ""
    with logged_run(experiment_id=experiment_id, run_name=record.run_name, tags=record.tags) as run:
        bar = tqdm(record.trials, desc="tune: log", unit="run", disable=not progress)
        for number, trial in enumerate(bar):
            if number == record.best:
                best_run_id, model_uri = log_candidate(
                    best, split, settings, trial.tags,
                    experiment_id=experiment_id, nested=True, run_name=trial.name,
                )  # fmt: skip
                continue
            with logged_run(
                experiment_id=experiment_id, nested=True, run_name=trial.name, tags=trial.tags
            ) as child:
                client.log_batch(
                    child.info.run_id, metrics=_metrics(trial.metrics), params=_params(trial.params)
                )
        client.log_batch(
            run.info.run_id,
            metrics=_metrics(record.metrics),
            params=_params(record.params),
            tags=[RunTag(BEST_RUN_TAG, best_run_id)],
        )
    return LoggedSearch(run.info.run_id, best_run_id, model_uri)


def _metrics(values: dict[str, float]) -> list[Metric]:
    now = int(time.time() * 1000)
    return [Metric(name, float(value), now, 0) for name, value in values.items()]


def _params(values: dict[str, str]) -> list[Param]:
    return [Param(name, value) for name, value in values.items()]
