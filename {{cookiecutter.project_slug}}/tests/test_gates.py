"""The promotion gates: MLflow's MetricThreshold semantics, and our explanation of them."""

import pytest

from {{ cookiecutter.package_name }}.gates import explain, thresholds, validate

from .conftest import with_changes


def gated(settings, **promotion):
    return with_changes(settings, promotion=promotion)


def scores(settings, value):
    return {settings.metric.primary: value}


def better_worse(settings, base):
    step = 0.05 if settings.metric.greater_is_better else -0.05
    return base + step, base - step


def test_zero_turns_the_improvement_gates_off(project_settings):
    settings = gated(project_settings, min_value=None, min_improvement=0.0,
                     min_relative_improvement=0.0)  # fmt: skip
    assert thresholds(settings, has_champion=True) == {}
    assert validate(settings, scores(settings, 0.1), scores(settings, 0.9)) is None


def test_the_first_promotion_uses_min_value_alone(project_settings):
    settings = gated(project_settings, min_value=0.5, min_improvement=0.2)
    gate = thresholds(settings, has_champion=False)[settings.metric.primary]
    assert gate.threshold == 0.5 and gate.min_absolute_change is None


@pytest.mark.parametrize("field", ["min_improvement", "min_relative_improvement"])
def test_an_improvement_gate_refuses_a_worse_challenger(project_settings, field):
    off = {"min_value": None, "min_improvement": 0.0, "min_relative_improvement": 0.0}
    settings = gated(project_settings, **{**off, field: 0.01})
    better, worse = better_worse(settings, 0.5)
    assert validate(settings, scores(settings, better), scores(settings, 0.5)) is None
    assert validate(settings, scores(settings, worse), scores(settings, 0.5)) is not None
    checks = explain(settings, worse, 0.5)
    assert [(c.name, c.held) for c in checks] == [(field, False)]


def test_min_value_refuses_a_challenger_below_it(project_settings):
    settings = gated(project_settings, min_value=0.5, min_improvement=0.0)
    better, worse = better_worse(settings, 0.5)
    assert validate(settings, scores(settings, better), None) is None
    assert validate(settings, scores(settings, worse), None) is not None
    assert [c.held for c in explain(settings, worse, None)] == [False]
