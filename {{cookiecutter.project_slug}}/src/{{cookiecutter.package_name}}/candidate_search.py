"""Find the best candidate run with one server-side query.

Candidates are ranked by the validation score of the primary metric (`cv_<metric>`, see
`validation`): the holdout is kept for `promote`. Only FINISHED runs tagged as training
candidates that carry a logged model are eligible: evaluation runs, tune parents and tune
children without a model are never picked. The query is bounded (`max_results=1`, ordered on
the server): a growing experiment never means downloading every run.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlflow import MlflowClient
from mlflow.entities import Run

from .errors import BadInput
from .settings import Settings
from .tag_keys import CANDIDATE_TAG, GIT_COMMIT_TAG, HAS_MODEL_TAG
from .validation import validation_metric


@dataclass(frozen=True)
class CandidateFilter:
    """Optional narrowing of the search, from `register-challenger`'s flags."""

    newer_than_ms: int | None = None
    git_commit: str | None = None


def _quote(value: str) -> str:
    return "'" + value.replace("'", "\\'") + "'"


def filter_string(criteria: CandidateFilter, finished_only: bool = True) -> str:
    clauses = [f"tags.`{CANDIDATE_TAG}` = 'true'", f"tags.`{HAS_MODEL_TAG}` = 'true'"]
    if finished_only:
        clauses.append("attributes.status = 'FINISHED'")
    if criteria.newer_than_ms is not None:
        clauses.append(f"attributes.start_time > {int(criteria.newer_than_ms)}")
    if criteria.git_commit:
        clauses.append(f"tags.`{GIT_COMMIT_TAG}` = {_quote(criteria.git_commit)}")
    return " AND ".join(clauses)


def ranking_metric(settings: Settings) -> str:
    """Candidates are ranked by their validation score, never by the holdout."""
    return validation_metric(settings.metric.primary)


def order_by(settings: Settings) -> list[str]:
    direction = "DESC" if settings.metric.greater_is_better else "ASC"
    return [f"metrics.`{ranking_metric(settings)}` {direction}", "attributes.start_time DESC"]


def best_candidate(settings: Settings, experiment_id: str, criteria: CandidateFilter) -> Run:
    """The best eligible run; `BadInput` says why there is none (no runs, none finished...)."""
    client = MlflowClient(tracking_uri=settings.tracking_uri)
    runs = client.search_runs(
        experiment_ids=[experiment_id],
        filter_string=filter_string(criteria),
        order_by=order_by(settings),
        max_results=1,
    )
    if runs:
        best = runs[0]
        if ranking_metric(settings) not in best.data.metrics:
            raise BadInput(
                f"metric {ranking_metric(settings)!r} is missing on the best candidate run "
                f"{best.info.run_id}: log it on every training run (`mlops train` does)"
            )
        return best
    raise BadInput(_why_none(client, experiment_id, criteria))


def _why_none(client: MlflowClient, experiment_id: str, criteria: CandidateFilter) -> str:
    """Tell "no runs at all" from "none finished" with one more bounded query."""
    unfinished = client.search_runs(
        experiment_ids=[experiment_id],
        filter_string=filter_string(criteria, finished_only=False),
        max_results=1,
    )
    narrowed = criteria != CandidateFilter()
    if unfinished:
        return "no finished candidate run with a model (the runs there failed or still run)"
    if narrowed:
        return "no candidate run matches the filters (--newer-than-challenger / --git-commit)"
    return "no candidate runs with a model in the experiment yet: run `mlops train` first"
