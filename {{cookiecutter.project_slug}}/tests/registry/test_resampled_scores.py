"""The bootstrap's vectorised scores are the metrics' own, resample by resample: any labels
(numbers or text, two classes or more, classes missing from a resample or never predicted)
and any values (constant targets included)."""

from __future__ import annotations

import warnings

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from {{ cookiecutter.package_name }}.ml.metrics import METRICS, Predictions
from {{ cookiecutter.package_name }}.registry.resampled_scores import VECTORISED, scores

LABEL_METRICS = [name for name in VECTORISED if METRICS[name].task == "classification"]
VALUE_METRICS = [name for name in VECTORISED if METRICS[name].task == "regression"]


def one_by_one(name: str, target, predicted, indices) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns on undefined precision or recall
        return np.array([METRICS[name].score(target[r], predicted[r], None) for r in indices])


@st.composite
def resamples(draw, values):
    rows = draw(st.integers(1, 40))
    target = np.array(draw(st.lists(values, min_size=rows, max_size=rows)))
    predicted = np.array(draw(st.lists(values, min_size=rows, max_size=rows)))
    count = draw(st.integers(1, 8))
    picks = st.lists(st.integers(0, rows - 1), min_size=rows, max_size=rows)
    indices = np.array(draw(st.lists(picks, min_size=count, max_size=count)))
    return target, predicted, indices


LABELS = st.one_of(st.sampled_from([0, 1, 2, 3]), st.sampled_from(["no", "yes", "maybe"]))


@settings(max_examples=150, deadline=None)
@given(data=st.data(), name=st.sampled_from(LABEL_METRICS))
def test_label_metrics_match_scikit_learn(data, name):
    kind = data.draw(st.sampled_from([st.sampled_from([0, 1, 2, 3]),
                                      st.sampled_from(["no", "yes", "maybe"]),
                                      st.sampled_from([0, 1])]))  # fmt: skip
    target, predicted, indices = data.draw(resamples(kind))
    fast = scores(METRICS[name], target, Predictions(predicted), indices)
    np.testing.assert_allclose(fast, one_by_one(name, target, predicted, indices), atol=1e-12)


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    name=st.sampled_from(VALUE_METRICS),
    values=st.sampled_from([st.floats(-1e3, 1e3), st.sampled_from([0.0, 1.5])]),
)
def test_value_metrics_match_scikit_learn(data, name, values):
    target, predicted, indices = data.draw(resamples(values))
    fast = scores(METRICS[name], target, Predictions(predicted), indices)
    np.testing.assert_allclose(
        fast, one_by_one(name, target, predicted, indices), rtol=1e-9, atol=1e-9
    )


def test_other_metrics_are_scored_one_by_one():
    target, proba = (
        np.array([0, 1, 1, 0]),
        np.array([[0.8, 0.2], [0.3, 0.7], [0.4, 0.6], [0.6, 0.4]]),
    )
    indices = np.array([[0, 1, 2, 3], [0, 0, 1, 2]])
    got = scores(METRICS["log_loss"], target, Predictions(proba.argmax(1), proba), indices)
    expected = [METRICS["log_loss"].score(target[r], None, proba[r]) for r in indices]
    np.testing.assert_allclose(got, expected)
