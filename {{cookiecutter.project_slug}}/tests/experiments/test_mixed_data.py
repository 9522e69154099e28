"""A team's own mixed-type CSV, end to end against a real server: train, tune, register,
promote, and serve raw rows with missing values and a category never seen in training."""

from __future__ import annotations

import mlflow
import pytest
from mlflow.types import DataType

from {{ cookiecutter.package_name }}.experiments.train import train
from {{ cookiecutter.package_name }}.experiments.tune import tune
from {{ cookiecutter.package_name }}.inference.following_app import FollowingApp
from {{ cookiecutter.package_name }}.inference.served_model import load_served
from {{ cookiecutter.package_name }}.registry.challenger import register_challenger
from {{ cookiecutter.package_name }}.registry.promotion import promote
from {{ cookiecutter.package_name }}.tracking.model_registry import CHAMPION

from ..mixed_data import ID_COLUMN, mixed_settings, raw_rows
from ..registry_state import aliased
from ..served_app import post_rows, running_app


@pytest.fixture
def mixed(settings, tmp_path):
    return mixed_settings(settings, tmp_path).replace("promotion", min_value=None)


def test_the_logged_signature_shows_the_raw_columns(mixed, as_admin):
    result = train(mixed, {})
    inputs = {col.name: col for col in mlflow.models.get_model_info(result.model_uri)
              .signature.inputs.inputs}  # fmt: skip
    assert list(inputs) == ["tenure_months", "monthly_spend", "region", "promo"]
    assert ID_COLUMN not in inputs
    assert inputs["region"].type == DataType.string and not inputs["region"].required
    assert inputs["monthly_spend"].type == DataType.double
    assert not inputs["monthly_spend"].required


@pytest.mark.parametrize("family", ["HistGradientBoosting", "RandomForest"])
def test_tree_ensembles_train_log_and_predict_raw_rows(mixed, as_admin, family):
    kind = "Classifier" if mixed.task == "classification" else "Regressor"
    params = {"n_estimators": 30} if family == "RandomForest" else {"max_iter": 30}
    trees = mixed.replace("model", estimator=f"sklearn.ensemble.{family}{kind}", params=params)
    result = train(trees, {})
    model = mlflow.pyfunc.load_model(result.model_uri)
    assert len(model.predict(raw_rows())) == 3


def test_tune_register_promote_and_serve_raw_rows(mixed, as_admin, tmp_path):
    """Gaps and a category never seen in training, through MLflow's own request parsing."""
    tuned = tune(mixed, trials=4, progress=False)
    registration = register_challenger(mixed)
    assert registration.run.info.run_id == tuned.best_run_id
    assert promote(mixed).passed
    served = load_served(mixed.model.registered_name, aliased(mixed, CHAMPION), tmp_path)
    with running_app(FollowingApp(served)) as url:
        answer = post_rows(url, raw_rows())
    assert answer.status_code == 200, answer.text
    predictions = answer.json()["predictions"]
    assert len(predictions) == 3
    if mixed.task == "classification":
        assert set(predictions) <= {"yes", "no"}
    else:
        assert all(isinstance(value, float) for value in predictions)
