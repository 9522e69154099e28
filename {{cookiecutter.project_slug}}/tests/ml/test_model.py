import pytest

from {{ cookiecutter.package_name }}.errors import BadInput
from {{ cookiecutter.package_name }}.ml.features import Columns
from {{ cookiecutter.package_name }}.ml.model import build_pipeline, estimator_class, parse_overrides

NUMBERS = Columns(numeric=("a", "b"), categorical=())


def built(estimator, params, seed=0):
    return build_pipeline(estimator, params, seed, NUMBERS, max_categories=10)


def test_overrides_are_read_as_toml_literals():
    assert parse_overrides(["a=1", "b=0.5", "c=true", 'd="x"', "e=balanced"]) == {
        "a": 1, "b": 0.5, "c": True, "d": "x", "e": "balanced",
    }  # fmt: skip


@pytest.mark.parametrize("pair", ["novalue", "=3", ""])
def test_an_override_without_a_name_or_value_is_rejected(pair):
    with pytest.raises(BadInput, match="NAME=VALUE"):
        parse_overrides([pair])


def test_the_configured_estimator_builds_with_its_params(platform_settings):
    pipeline = built(platform_settings.model.estimator, platform_settings.model.params, seed=7)
    estimator = pipeline.named_steps["model"]
    for name, value in platform_settings.model.params.items():
        assert estimator.get_params()[name] == value


def test_an_unknown_parameter_names_the_known_ones(platform_settings):
    with pytest.raises(BadInput, match=r"unknown parameter 'no_such_param'.*known:"):
        built(platform_settings.model.estimator, {"no_such_param": 1})


def test_the_seed_reaches_estimators_that_take_one():
    pipeline = built("sklearn.ensemble.RandomForestRegressor", {}, seed=123)
    assert pipeline.named_steps["model"].random_state == 123


@pytest.mark.parametrize(
    "path", ["os.system", "sklearn.linear_model.Nope", "sklearn.metrics.f1_score"]
)
def test_only_scikit_learn_estimators_can_be_named(path):
    with pytest.raises(BadInput):
        estimator_class(path)
