"""A run's pictures: drawn from out-of-fold predictions of the training part only, every panel
for the task, and an importance ranking that finds the column that carries the signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.ml.data import load_split
from {{ cookiecutter.package_name }}.ml.pictures import OVERVIEW, REPORT, column_importance, draw, pictured
from {{ cookiecutter.package_name }}.ml.training import fit_candidate

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def signal_and_noise(platform_settings, tmp_path):
    """A table whose label follows one column; another column is pure noise."""
    rng = np.random.default_rng(0)
    rows = 400
    signal, noise = rng.normal(size=rows), rng.normal(size=rows)
    label = np.where(signal + rng.normal(scale=0.3, size=rows) > 0, "yes", "no")
    frame = pd.DataFrame({"signal": signal, "noise": noise, "region": rng.choice(["n", "s"], rows),
                          "label": label})  # fmt: skip
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    return for_task(platform_settings, "classification", str(path), "label",
                    "sklearn.linear_model.LogisticRegression", "accuracy", True)  # fmt: skip


def for_task(platform_settings, task, source, target, estimator, metric, greater):
    """The platform's settings turned to another task and table (either kind of bake)."""
    settings = platform_settings.model_copy(update={"task": task})
    settings = settings.replace("metric", primary=metric, greater_is_better=greater)
    settings = settings.replace("promotion", min_value=None)
    settings = settings.replace("model", estimator=estimator, params={})
    return settings.replace("data", source=source, target=target, drop=[], id=[], categorical=[])


def test_the_pictures_come_from_out_of_fold_predictions_on_the_training_part_only(
    signal_and_noise,
):
    split = load_split(signal_and_noise)
    candidate = fit_candidate(signal_and_noise, split, {})
    seen = candidate.out_of_fold
    assert sorted(seen.target.index) == sorted(split.y_train.index), "every training row, once"
    assert not set(seen.target.index) & set(split.y_test.index), "never a holdout row"
    assert len(seen.folds) == signal_and_noise.data.cv_folds
    accuracy = float(np.mean(seen.predictions.labels == seen.target.to_numpy()))
    assert accuracy > 0.8, "the fold models' own predictions, not a refit's"


def test_importance_ranks_the_signal_first_and_the_noise_near_zero(signal_and_noise):
    split = load_split(signal_and_noise)
    found = column_importance(fit_candidate(signal_and_noise, split, {}).out_of_fold,
                              signal_and_noise)  # fmt: skip
    assert found[0].column == "signal"
    noise = next(item for item in found if item.column == "noise")
    assert abs(noise.mean) < found[0].mean / 10


@pytest.mark.parametrize(
    ("task", "source", "estimator", "metric", "greater"),
    [
        ("classification", "sklearn:breast_cancer", "sklearn.linear_model.LogisticRegression",
         "f1", True),
        ("classification", "sklearn:iris", "sklearn.linear_model.LogisticRegression",
         "accuracy", True),
        ("regression", "sklearn:diabetes", "sklearn.linear_model.Ridge", "rmse", False),
    ],
)  # fmt: skip
def test_every_task_draws_an_overview_and_a_report(
    platform_settings, task, source, estimator, metric, greater
):
    settings = for_task(platform_settings, task, source, "target", estimator, metric, greater)
    drawn = pictured(fit_candidate(settings, load_split(settings), {}), settings)
    assert set(drawn.pictures) == {OVERVIEW, REPORT}
    assert drawn.pictures[OVERVIEW].startswith(PNG)
    report = drawn.pictures[REPORT].decode()
    assert "the holdout is" in report.lower() and "data:image/png;base64," in report
    assert f"drop in {metric}" in report
    assert drawn.out_of_fold is None, "the fold models are let go once drawn"


def test_drawing_needs_the_fold_models(signal_and_noise):
    seen = fit_candidate(signal_and_noise, load_split(signal_and_noise), {}).out_of_fold
    seen.release()
    with pytest.raises(ValueError, match="released"):
        draw(seen, signal_and_noise)
