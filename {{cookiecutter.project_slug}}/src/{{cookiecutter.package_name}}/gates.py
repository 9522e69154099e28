"""The promotion gates of `[promotion]`, expressed as MLflow `MetricThreshold`s.

Every gate that is set must hold. MLflow rejects a `min_absolute_change` of 0 and wants floats,
so 0 means "leave that gate out". The first promotion (no champion) uses `min_value` alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.models import MetricThreshold
from mlflow.models.evaluation import EvaluationResult

from .metrics import is_better
from .settings import Settings


@dataclass(frozen=True)
class GateCheck:
    """One gate: what it requires, what the challenger scored, and whether it held."""

    name: str
    required: str
    held: bool


def thresholds(settings: Settings, has_champion: bool) -> dict[str, MetricThreshold]:
    promotion, metric = settings.promotion, settings.metric
    options: dict[str, float] = {}
    if promotion.min_value is not None:
        options["threshold"] = float(promotion.min_value)
    if has_champion and promotion.min_improvement > 0:
        options["min_absolute_change"] = float(promotion.min_improvement)
    if has_champion and promotion.min_relative_improvement > 0:
        options["min_relative_change"] = float(promotion.min_relative_improvement)
    if not options:
        return {}
    return {metric.primary: MetricThreshold(**options, greater_is_better=metric.greater_is_better)}


def explain(settings: Settings, challenger: float, champion: float | None) -> list[GateCheck]:
    """The same gates, spelled out for the report (MLflow's exception text is one blob)."""
    promotion, greater = settings.promotion, settings.metric.greater_is_better
    sign, name = (1 if greater else -1), settings.metric.primary
    checks = []
    if promotion.min_value is not None:
        relation = ">=" if greater else "<="
        held = challenger == promotion.min_value or is_better(
            challenger, promotion.min_value, greater
        )
        checks.append(GateCheck("min_value", f"{name} {relation} {promotion.min_value}", held))
    if champion is not None and promotion.min_improvement > 0:
        gain = sign * (challenger - champion)
        checks.append(GateCheck(
            "min_improvement", f"beats champion by >= {promotion.min_improvement}",
            gain >= promotion.min_improvement,
        ))  # fmt: skip
    if champion is not None and promotion.min_relative_improvement > 0 and champion != 0:
        gain = sign * (challenger - champion) / abs(champion)
        checks.append(GateCheck(
            "min_relative_improvement",
            f"beats champion by >= {promotion.min_relative_improvement * 100:g} percent",
            gain >= promotion.min_relative_improvement,
        ))  # fmt: skip
    return checks


def validate(
    settings: Settings, challenger: dict[str, float], champion: dict[str, float] | None
) -> str | None:
    """None when every gate holds, else MLflow's reason (via `validate_evaluation_results`)."""
    gates = thresholds(settings, champion is not None)
    if not gates:
        return None
    try:
        mlflow.validate_evaluation_results(
            validation_thresholds=gates,
            candidate_result=EvaluationResult(metrics=challenger, artifacts={}),
            baseline_result=EvaluationResult(metrics=champion, artifacts={})
            if champion is not None
            else None,
        )
    except MlflowException as exc:  # ModelValidationFailedException is one
        return " ".join(str(exc).split())
    return None
