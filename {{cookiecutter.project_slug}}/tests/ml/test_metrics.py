import numpy as np
import pytest

from {{ cookiecutter.package_name }}.ml.data import load_split
from {{ cookiecutter.package_name }}.ml.metrics import METRICS, evaluate, is_better
from {{ cookiecutter.package_name }}.ml.model import pipeline_for


def test_every_metric_of_the_task_is_scored(platform_settings):
    split = load_split(platform_settings)
    model = pipeline_for(platform_settings, split.x_train)
    model.fit(split.x_train, split.y_train)
    scores = evaluate(model, split.x_test, split.y_test, platform_settings.task)
    expected = {m.name for m in METRICS.values() if m.task == platform_settings.task}
    assert set(scores) == expected
    assert all(isinstance(value, float) for value in scores.values())


@pytest.mark.parametrize(
    ("candidate", "reference", "greater", "better"),
    [(0.9, 0.8, True, True), (0.8, 0.9, True, False), (1.0, 2.0, False, True), (1, 1, True, False)],
)
def test_is_better_respects_the_direction(candidate, reference, greater, better):
    assert is_better(candidate, reference, greater) is better


@pytest.mark.parametrize(("negative", "positive"), [(0, 1), ("no", "yes"), (False, True)])
def test_two_classes_score_the_larger_label_as_positive(negative, positive):
    truth = np.array([positive, positive, negative, negative])
    said = np.array([positive, negative, negative, negative])
    f1 = METRICS["f1"].score(truth, said, None)
    assert f1 == pytest.approx(2 / 3)
    assert METRICS["recall"].score(truth, said, None) == pytest.approx(0.5)
