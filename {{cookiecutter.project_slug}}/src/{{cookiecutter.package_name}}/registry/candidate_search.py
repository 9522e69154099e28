"""Find the best candidate run with one server-side query.

Candidates are ranked by the validation score of the primary metric (`cv_<metric>`, see
`validation`): the holdout is kept for `promote`. Only FINISHED runs tagged as training
candidates that carry a logged model are eligible: evaluation runs, tune parents and tune
children without a model are never picked. The query is bounded (`max_results=1`, ordered on
the server): a growing experiment never means downloading every run.

MLflow's SQL store orders runs by a metric with a join that costs time quadratic in the runs it
orders (18 s at 10k runs on sqlite, see docs/benchmarks.md). So the current challenger's score
is the bar: runs at least as good are searched first, a handful however large the experiment.
Whenever one exists, the best of them is the best of all: every run better than it also clears
the bar, and the order is the same. Only when none does (the challenger's run was deleted, or
the settings changed) is every run ordered.

Above the bar, the eligibility tags are checked on the runs returned, not in the query: each tag
clause is a join over every run's tags (about 60 % of the query's time at 100k runs), while the
runs above the bar are a handful. Pages of them come in the same order as the filtered query's,
so the first eligible run is the one it would return.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import Decimal

from mlflow import MlflowClient
from mlflow.entities import Run

from ..errors import BadInput
from ..metric_names import validation_metric
from ..settings import Settings
from ..tracking.tag_keys import (
    CANDIDATE_TAG,
    DIRTY_TAG,
    GIT_COMMIT_TAG,
    HAS_MODEL_TAG,
    HOLDOUT_DIGEST_TAG,
)


@dataclass(frozen=True)
class CandidateFilter:
    """Optional narrowing of the search, from `register-challenger`'s flags."""

    newer_than_ms: int | None = None
    git_commit: str | None = None
    excluded: tuple[str, ...] = ()  # runs already found unfit (see register-challenger)
    holdout_digest: str | None = None  # only runs on this data (the current data, by default)
    clean_only: bool = False  # no run made from uncommitted changes


def _quote(value: str) -> str:
    return "'" + value.replace("'", "\\'") + "'"


ELIGIBLE = {CANDIDATE_TAG: "true", HAS_MODEL_TAG: "true"}
PAGE = 100


def filter_string(
    criteria: CandidateFilter,
    finished_only: bool = True,
    bar: Bar | None = None,
    eligible: bool = True,
) -> str:
    clauses = [f"tags.`{key}` = '{value}'" for key, value in ELIGIBLE.items()] if eligible else []
    if finished_only:
        clauses.append("attributes.status = 'FINISHED'")
    if bar is not None:
        clauses.append(bar.clause())
    if criteria.newer_than_ms is not None:
        clauses.append(f"attributes.start_time > {int(criteria.newer_than_ms)}")
    if criteria.git_commit:
        clauses.append(f"tags.`{GIT_COMMIT_TAG}` = {_quote(criteria.git_commit)}")
    if criteria.holdout_digest:
        clauses.append(f"tags.`{HOLDOUT_DIGEST_TAG}` = {_quote(criteria.holdout_digest)}")
    if criteria.clean_only:
        clauses.append(f"tags.`{DIRTY_TAG}` != 'true'")
    if criteria.excluded:
        clauses.append(f"attributes.run_id NOT IN ({', '.join(map(_quote, criteria.excluded))})")
    return " AND ".join(clauses)


@dataclass(frozen=True)
class Bar:
    """Only runs scoring at least `value` on `metric` (in its direction)."""

    metric: str
    value: float
    greater_is_better: bool

    def clause(self) -> str:
        operator = ">=" if self.greater_is_better else "<="
        # plain decimal digits: the shortest repr, without an exponent MLflow's parser refuses
        return f"metrics.`{self.metric}` {operator} {Decimal(repr(self.value)):f}"


def bar_for(settings: Settings, score: float | None) -> Bar | None:
    if score is None or not math.isfinite(score):
        return None
    return Bar(ranking_metric(settings), score, settings.metric.greater_is_better)


def ranking_metric(settings: Settings) -> str:
    """Candidates are ranked by their validation score, never by the holdout."""
    return validation_metric(settings.metric.primary)


def order_by(settings: Settings) -> list[str]:
    direction = "DESC" if settings.metric.greater_is_better else "ASC"
    return [f"metrics.`{ranking_metric(settings)}` {direction}", "attributes.start_time DESC"]


def best_candidate(
    settings: Settings,
    experiment_id: str,
    criteria: CandidateFilter,
    bar_score: float | None = None,
) -> Run:
    """The best eligible run; `BadInput` says why there is none (no runs, none finished...).

    `bar_score` (the current challenger's score) only makes the search cheaper: the run found
    is the same with or without it."""
    client = MlflowClient(tracking_uri=settings.tracking_uri)
    bar = bar_for(settings, bar_score)
    runs = _best_above(client, settings, experiment_id, criteria, bar) if bar else []
    if not runs:
        runs = _best(client, settings, experiment_id, filter_string(criteria))
    if runs:
        best = runs[0]
        if ranking_metric(settings) not in best.data.metrics:
            raise BadInput(
                f"metric {ranking_metric(settings)!r} is missing on the best candidate run "
                f"{best.info.run_id}: log it on every training run (`mlops train` does)"
            )
        return best
    raise BadInput(_why_none(client, experiment_id, criteria))


def _best(
    client: MlflowClient, settings: Settings, experiment_id: str, filter_text: str
) -> list[Run]:
    return client.search_runs(
        experiment_ids=[experiment_id],
        filter_string=filter_text,
        order_by=order_by(settings),
        max_results=1,
    )


def _best_above(
    client: MlflowClient,
    settings: Settings,
    experiment_id: str,
    criteria: CandidateFilter,
    bar: Bar,
) -> list[Run]:
    """The best eligible run among those clearing the bar, in pages of the query's own order."""
    text = filter_string(criteria, bar=bar, eligible=False)
    token = None
    while True:
        page = client.search_runs(
            experiment_ids=[experiment_id], filter_string=text, order_by=order_by(settings),
            max_results=PAGE, page_token=token,
        )  # fmt: skip
        for run in page:
            if all(run.data.tags.get(key) == value for key, value in ELIGIBLE.items()):
                return [run]
        token = page.token
        if not token:
            return []


def _why_none(client: MlflowClient, experiment_id: str, criteria: CandidateFilter) -> str:
    """Tell "no runs at all" from "none finished" with one more bounded query."""
    unfinished = client.search_runs(
        experiment_ids=[experiment_id],
        filter_string=filter_string(criteria, finished_only=False),
        max_results=1,
    )
    narrowed = replace(criteria, excluded=(), holdout_digest=None, clean_only=False)
    if unfinished:
        return "no finished candidate run with a model (the runs there failed or still run)"
    if narrowed != CandidateFilter():
        return "no candidate run matches the filters (--newer-than-challenger / --git-commit)"
    if criteria.holdout_digest or criteria.clean_only:
        return (
            "no committed candidate run on the current data: train on it (`mlops train`), or "
            "widen with --any-data / --allow-dirty"
        )
    return "no candidate runs with a model in the experiment yet: run `mlops train` first"
