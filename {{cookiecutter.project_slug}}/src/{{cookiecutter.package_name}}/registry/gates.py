"""The gates of `[promotion]`, in one place: one list of checks is both the decision and the
explanation printed and written to the job summary, so the two can never disagree.

Every gate that is set must hold; the first promotion (no champion) uses `min_value` alone.
- `min_value`, and the point-score improvement gates, are MLflow `MetricThreshold`s checked by
  `mlflow.validate_evaluation_results`, one threshold per call so each result is one gate.
  MLflow rejects a `min_absolute_change` of 0 and wants floats: 0 leaves a gate out.
- With `confidence` > 0 the improvement gate is statistical instead: the paired-bootstrap lower
  bound of the improvement (see `paired_bootstrap`) must be strictly above `min_improvement`, so two
  models that predict the same never pass, and a lead within the holdout's noise does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import mlflow
from mlflow.models import MetricThreshold
from mlflow.models.evaluation import EvaluationResult
from mlflow.models.evaluation.validation import ModelValidationFailedException

from ..settings import Settings
from .paired_bootstrap import Improvement


@dataclass(frozen=True)
class GateCheck:
    """One gate: what it requires, what was observed, and whether it held."""

    name: str
    required: str
    observed: str
    held: bool


def percent(share: float, spec: str = ".0f") -> str:
    """0.95 -> "95%": spelled out, because a percent format spec before the closing brace reads
    as template syntax in the cookiecutter template this file comes from."""
    return f"{format(100 * share, spec)}%"


def all_hold(checks: list[GateCheck]) -> bool:
    return all(check.held for check in checks)


def failed_names(checks: list[GateCheck]) -> list[str]:
    return [check.name for check in checks if not check.held]


def min_value_check(
    settings: Settings, value: float, min_value: float | None, label: str | None = None
) -> GateCheck | None:
    """The absolute gate; register-challenger applies it to the validation score (`label`)."""
    if min_value is None:
        return None
    metric, greater = label or settings.metric.primary, settings.metric.greater_is_better
    gate = MetricThreshold(threshold=float(min_value), greater_is_better=greater)
    relation = ">=" if greater else "<="
    return GateCheck(
        "min_value", f"{metric} {relation} {min_value:g}", f"{value:.4f}",
        _mlflow_holds(metric, gate, value, None),
    )  # fmt: skip


def check_gates(
    settings: Settings,
    challenger: float,
    champion: float | None,
    improvement: Improvement | None = None,
) -> list[GateCheck]:
    """Every gate that is set, evaluated on the challenger's and champion's holdout scores of
    the primary metric (and the bootstrap `improvement` when `confidence` is on)."""
    promotion = settings.promotion
    checks = [min_value_check(settings, challenger, promotion.min_value)]
    if champion is not None:
        if promotion.confidence > 0:
            checks.append(_significance_check(settings, improvement))
        elif promotion.min_improvement > 0:
            checks.append(_absolute_check(settings, challenger, champion))
        if promotion.min_relative_improvement > 0:
            checks.append(_relative_check(settings, challenger, champion))
    return [check for check in checks if check is not None]


def _gain(settings: Settings, challenger: float, champion: float) -> float:
    sign = 1 if settings.metric.greater_is_better else -1
    return sign * (challenger - champion)


def _significance_check(settings: Settings, improvement: Improvement | None) -> GateCheck:
    if improvement is None:
        raise ValueError("confidence is on: the bootstrap improvement is required")
    promotion = settings.promotion
    bound = f"{percent(promotion.confidence)} lower bound"
    return GateCheck(
        "min_improvement",
        f"{bound} of the improvement > {promotion.min_improvement:g}",
        f"{improvement.lower_bound:+.4f}",
        improvement.lower_bound > promotion.min_improvement,
    )


def _absolute_check(settings: Settings, challenger: float, champion: float) -> GateCheck:
    minimum = settings.promotion.min_improvement
    gate = MetricThreshold(
        min_absolute_change=float(minimum), greater_is_better=settings.metric.greater_is_better
    )
    return GateCheck(
        "min_improvement", f"beats champion by >= {minimum:g}",
        f"{_gain(settings, challenger, champion):+.4f}",
        _mlflow_holds(settings.metric.primary, gate, challenger, champion),
    )  # fmt: skip


def _relative_check(settings: Settings, challenger: float, champion: float) -> GateCheck:
    minimum = settings.promotion.min_relative_improvement
    gate = MetricThreshold(
        min_relative_change=float(minimum), greater_is_better=settings.metric.greater_is_better
    )
    gain = _gain(settings, challenger, champion)
    observed = f"{percent(gain / abs(champion), '+.2f')}" if champion else f"{gain:+.4f} over 0"
    return GateCheck(
        "min_relative_improvement", f"beats champion by >= {percent(minimum, '.2f')} of its score",
        observed, _mlflow_holds(settings.metric.primary, gate, challenger, champion),
    )  # fmt: skip


def _mlflow_holds(
    metric: str, gate: MetricThreshold, candidate: float, baseline: float | None
) -> bool:
    """MLflow's own verdict on one threshold."""
    try:
        mlflow.validate_evaluation_results(
            validation_thresholds={metric: gate},
            candidate_result=EvaluationResult(metrics={metric: candidate}, artifacts={}),
            baseline_result=(
                EvaluationResult(metrics={metric: baseline}, artifacts={})
                if baseline is not None
                else None
            ),
        )
    except ModelValidationFailedException:
        return False
    return True
