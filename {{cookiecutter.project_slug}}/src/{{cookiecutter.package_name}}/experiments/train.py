"""`mlops train`: fit one candidate (`training`), log it as one run.

The fit happens before any request, so a dead tunnel never costs the training: the run is then
saved locally (see `pending.py`) and uploaded later with `mlops upload-pending`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ServerUnavailable
from ..ml.data import load_split
from ..ml.pictures import pictured
from ..ml.training import fit_candidate
from ..settings import Settings
from ..tracking import connection
from ..tracking.model_files import check_loggable
from ..tracking.tag_keys import ATTEMPT_TAG
from . import pending
from .profiling import profiled
from .runs import candidate_tags, log_candidate, new_attempt


@dataclass(frozen=True)
class TrainResult:
    run_id: str
    experiment_id: str
    model_uri: str
    metrics: dict[str, float]
    url: str
    pictures: dict[str, bytes]
    """`overview.png` and `report.html`, as logged under `pictures/` (empty when switched off)."""


def train(
    settings: Settings, overrides: dict[str, object], run_name: str | None = None
) -> TrainResult:
    """`mlops train`: one run with params, metrics, model and datasets."""
    split = load_split(settings)
    candidate = profiled(fit_candidate(settings, split, overrides), split, settings)
    if settings.tracking.pictures:
        candidate = pictured(candidate, settings)
    check_loggable(candidate.pipeline)  # refused here, before any request
    tags = {**candidate_tags(settings, split), ATTEMPT_TAG: new_attempt()}
    with connection.connected(settings) as uri:
        try:
            with connection.server_errors(uri, "member"):
                experiment_id = connection.experiment_id(settings.tracking.experiment, create=True)
                run_id, model_uri = log_candidate(
                    candidate, split, settings, tags, experiment_id=experiment_id, run_name=run_name
                )
        except ServerUnavailable as exc:
            folder = pending.save(settings, candidate, split, tags, run_name)
            raise ServerUnavailable(pending.saved_message(exc, folder)) from exc
        url = connection.run_url(uri, experiment_id, run_id)
        return TrainResult(run_id, experiment_id, model_uri, candidate.metrics, url,
                           candidate.pictures)  # fmt: skip
