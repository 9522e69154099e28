"""The gates: one computation is both the decision and the explanation.

Each case states the scores and the gates that are on, and the verdict a reviewer expects,
worked out by hand; the test checks that every gate's printed result and the overall decision
agree with it, for higher- and lower-is-better metrics, a champion scoring 0, and each gate on
and off.
"""

from __future__ import annotations

import pytest

from {{ cookiecutter.package_name }}.registry.gates import all_hold, check_gates, min_value_check
from {{ cookiecutter.package_name }}.registry.paired_bootstrap import Improvement

OFF = {
    "min_value": None, "min_improvement": 0.0, "min_relative_improvement": 0.0,
    "confidence": 0.0,
}  # fmt: skip


def improvement(lower_bound: float) -> Improvement:
    return Improvement(
        point=0.0, lower_bound=lower_bound, confidence=0.95, resamples=1000, rows=100
    )


# (metric, gates on, challenger, champion, bootstrap lower bound, expected result per gate)
CASES = [
    ("f1", {}, 0.1, 0.9, None, {}),
    ("f1", {"min_value": 0.8}, 0.85, None, None, {"min_value": True}),
    ("f1", {"min_value": 0.8}, 0.8, None, None, {"min_value": True}),
    ("f1", {"min_value": 0.8}, 0.79, None, None, {"min_value": False}),
    ("f1", {"min_value": 0.8, "min_improvement": 0.05}, 0.85, None, None, {"min_value": True}),
    ("f1", {"min_improvement": 0.05}, 0.90, 0.84, None, {"min_improvement": True}),
    ("f1", {"min_improvement": 0.05}, 0.88, 0.84, None, {"min_improvement": False}),
    ("f1", {"min_relative_improvement": 0.1}, 0.9, 0.8, None, {"min_relative_improvement": True}),
    ("f1", {"min_relative_improvement": 0.1}, 0.85, 0.8, None, {"min_relative_improvement": False}),
    ("f1", {"min_relative_improvement": 0.1}, 0.2, 0.0, None, {"min_relative_improvement": True}),
    ("f1", {"min_relative_improvement": 0.1}, 0.0, 0.0, None, {"min_relative_improvement": False}),
    ("f1", {"min_improvement": 0.01}, 0.01, 0.0, None, {"min_improvement": True}),
    ("rmse", {"min_value": 10.0}, 9.0, None, None, {"min_value": True}),
    ("rmse", {"min_value": 10.0}, 11.0, None, None, {"min_value": False}),
    ("rmse", {"min_improvement": 1.0}, 8.0, 9.5, None, {"min_improvement": True}),
    ("rmse", {"min_improvement": 1.0}, 9.0, 9.5, None, {"min_improvement": False}),
    ("rmse", {"min_improvement": 1.0}, 10.0, 9.0, None, {"min_improvement": False}),
    (
        "rmse",
        {"min_relative_improvement": 0.1},
        8.0,
        10.0,
        None,
        {"min_relative_improvement": True},
    ),
    (
        "rmse",
        {"min_relative_improvement": 0.1},
        9.5,
        10.0,
        None,
        {"min_relative_improvement": False},
    ),
    ("f1", {"confidence": 0.95}, 0.9, 0.8, 0.02, {"min_improvement": True}),
    ("f1", {"confidence": 0.95}, 0.9, 0.8, 0.0, {"min_improvement": False}),
    ("f1", {"confidence": 0.95}, 0.9, 0.8, -0.01, {"min_improvement": False}),
    (
        "f1",
        {"confidence": 0.95, "min_improvement": 0.05},
        0.9,
        0.8,
        0.04,
        {"min_improvement": False},
    ),
    (
        "f1",
        {"confidence": 0.95, "min_improvement": 0.05},
        0.9,
        0.8,
        0.06,
        {"min_improvement": True},
    ),
    ("rmse", {"confidence": 0.95}, 8.0, 9.0, 0.5, {"min_improvement": True}),
    (
        "f1",
        {"confidence": 0.95, "min_value": 0.95},
        0.9,
        0.8,
        0.06,
        {"min_value": False, "min_improvement": True},
    ),
    (
        "f1",
        {"confidence": 0.95, "min_relative_improvement": 0.5},
        0.9,
        0.8,
        0.06,
        {"min_improvement": True, "min_relative_improvement": False},
    ),
    ("f1", {"confidence": 0.95, "min_value": 0.5}, 0.9, None, None, {"min_value": True}),
]


def settings_for(platform_settings, metric: str, gates: dict):
    task = "classification" if metric == "f1" else "regression"
    changed = platform_settings.model_copy(update={"task": task})
    changed = changed.replace("metric", primary=metric, greater_is_better=metric == "f1")
    return changed.replace("promotion", **{**OFF, **gates})


@pytest.mark.parametrize(("metric", "gates", "challenger", "champion", "lower", "expected"), CASES)
def test_each_gate_and_the_decision_agree_with_the_worked_verdict(
    platform_settings, metric, gates, challenger, champion, lower, expected
):
    settings = settings_for(platform_settings, metric, gates)
    bootstrap = improvement(lower) if lower is not None else None
    checks = check_gates(settings, challenger, champion, bootstrap)
    assert {check.name: check.held for check in checks} == expected
    assert all_hold(checks) == all(expected.values())


def test_the_bootstrap_gate_needs_the_bootstrap(platform_settings):
    settings = settings_for(platform_settings, "f1", {"confidence": 0.95})
    with pytest.raises(ValueError, match="bootstrap"):
        check_gates(settings, 0.9, 0.8, None)


def test_each_check_says_what_it_requires_and_what_it_saw(platform_settings):
    settings = settings_for(platform_settings, "f1", {"min_value": 0.8, "confidence": 0.9})
    value, significance = check_gates(settings, 0.85, 0.8, improvement(0.0123))
    assert (value.required, value.observed) == ("f1 >= 0.8", "0.8500")
    assert significance.required == "90% lower bound of the improvement > 0"
    assert significance.observed == "+0.0123"


def test_register_challenger_labels_the_min_value_gate_with_its_score(platform_settings):
    check = min_value_check(platform_settings, 0.5, 0.8, label="cv_f1")
    assert check.required.startswith("cv_f1 ") and not check.held
