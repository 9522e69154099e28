"""The reference profile a candidate carries into its MLmodel: its training part, and what its
fold models said about the rows they never saw (the out-of-fold predictions, computed once for
the validation score). `mlops monitor` compares new data with it."""

from __future__ import annotations

from dataclasses import replace

from ..ml.data import Split
from ..ml.features import column_roles
from ..ml.training import FittedCandidate
from ..profiles.reference import reference_profile
from ..settings import Settings


def profiled(candidate: FittedCandidate, split: Split, settings: Settings) -> FittedCandidate:
    """The candidate with its profile; unchanged when its out-of-fold predictions are gone."""
    if candidate.out_of_fold is None:
        return candidate
    profile = reference_profile(
        split.x_train,
        column_roles(split.x_train, settings.data).numeric,
        candidate.out_of_fold.predictions.labels,
        settings.task,
        settings.data.max_categories,
    )
    return replace(candidate, profile=profile)
