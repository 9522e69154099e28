"""`mlops tune`: a seeded search over `[tune.space]`, one parent run, a child run per candidate.

Every candidate is fitted before any request is made, so the search is never lost to a dead
tunnel. Then the runs are logged in as few requests as MLflow allows: per child, `start_run`
with its tags, one `log_batch` holding params and metrics, `end_run` (3 requests); only the best
candidate logs its model and datasets, in its own child run, which is what `register-challenger`
picks. The parent is not a candidate: it records the search and the best result. A server that
dies while they are logged leaves the whole search in `pending` (see `search_runs`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import BadInput, ServerUnavailable
from ..metric_names import validation_metric
from ..ml.data import Split, load_split
from ..ml.pictures import pictured
from ..ml.search import (
    Search,
    Trial,
    fit_trials,
    parse_space,
    pick_best,
    sample_trials,
    trial_score,
)
from ..settings import Settings
from ..tracking import connection
from ..tracking.model_files import check_loggable
from ..tracking.provenance import run_tags
from ..tracking.tag_keys import ATTEMPT_TAG, HAS_MODEL_TAG, TRIAL_TAG
from . import pending
from .profiling import profiled
from .runs import candidate_tags, new_attempt, param_strings
from .search_runs import SearchRecord, TrialRecord, log_search


@dataclass(frozen=True)
class TuneResult:
    parent_run_id: str
    experiment_id: str
    best: Trial
    best_run_id: str
    model_uri: str
    trials: list[Trial]
    url: str
    best_url: str
    pictures: dict[str, bytes]
    """The best candidate's pictures, as logged in its run (empty when switched off)."""


def tune(
    settings: Settings,
    trials: int | None = None,
    method: str | None = None,
    run_name: str | None = None,
    progress: bool = True,
) -> TuneResult:
    """Check the server, search, then log the parent and its children; a server that dies
    while the runs are logged keeps the whole search locally."""
    method = method or settings.tune.method
    count = settings.tune.trials if trials is None else trials
    if method not in {"grid", "random"} or count < 1:
        raise BadInput(
            f"tune: method must be grid or random and trials at least 1 ({method}, {count})"
        )
    space = parse_space(settings)
    combos = sample_trials(space, method, count, settings.tune.seed)
    split = load_split(settings)
    with connection.connected(settings) as uri, connection.server_errors(uri, "member"):
        # the one request logging needs first, made before any fit: a server that is down
        # already costs no compute (one that dies later still gets the best run saved)
        experiment_id = connection.experiment_id(settings.tracking.experiment, create=True)
    fitted = fit_trials(settings, split, combos, progress)
    search = Search(space, method, fitted, pick_best(fitted, settings))
    check_loggable(search.best.candidate.pipeline)  # refused here, before any request
    chosen = profiled(search.best.candidate, split, settings)
    if settings.tracking.pictures:  # only the best keeps a model, so only it is pictured
        chosen = pictured(chosen, settings)
    record = _record(settings, split, search, run_name)
    best = record.trials[record.best]
    with connection.connected(settings) as uri:
        try:
            with connection.server_errors(uri, "member"):
                logged = log_search(record, chosen, split, settings, experiment_id, progress)
        except ServerUnavailable as exc:
            folder = pending.save(settings, chosen, split, best.tags, best.name, search=record)
            raise ServerUnavailable(pending.saved_message(exc, folder)) from exc
    return TuneResult(
        parent_run_id=logged.parent_run_id,
        experiment_id=experiment_id,
        best=search.best,
        best_run_id=logged.best_run_id,
        model_uri=logged.model_uri,
        trials=fitted,
        url=connection.run_url(uri, experiment_id, logged.parent_run_id),
        best_url=connection.run_url(uri, experiment_id, logged.best_run_id),
        pictures=chosen.pictures,
    )


def _record(settings: Settings, split: Split, search: Search, run_name: str | None) -> SearchRecord:
    """Everything the search will log, tags computed once (provenance runs git)."""
    attempt = new_attempt()
    trial_tags = candidate_tags(settings, split, kind="trial", has_model=False)
    width = len(str(len(search.trials)))
    trials = [
        TrialRecord(
            name=f"trial-{trial.number:0{width}d}",
            tags={**trial_tags, ATTEMPT_TAG: attempt, TRIAL_TAG: str(trial.number)}
            | ({HAS_MODEL_TAG: "true"} if trial is search.best else {}),
            params=param_strings(trial.candidate.params),
            metrics=trial.candidate.metrics,
        )
        for trial in search.trials
    ]
    return SearchRecord(
        run_name=run_name,
        tags={**run_tags(settings.root, kind="tune"), ATTEMPT_TAG: attempt},
        params=param_strings(_search_params(settings, search)),
        metrics={
            f"best_{validation_metric(settings.metric.primary)}": trial_score(search.best, settings)
        },
        trials=trials,
        best=search.trials.index(search.best),
    )


def _search_params(settings: Settings, search: Search) -> dict[str, object]:
    return {
        "tune.method": search.method,
        "tune.trials": len(search.trials),
        "tune.seed": settings.tune.seed,
        **{f"tune.space.{name}": str(dim) for name, dim in search.space.items()},
    }
