"""The registry as MLflow answers it: missing aliases and created resources."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.errors import BadInput
from {{ cookiecutter.package_name }}.tracking.model_registry import (
    CHALLENGER,
    aliased_version,
    ensure_experiment,
    ensure_registered_model,
    require_alias,
)


def test_a_missing_model_or_alias_is_none_not_an_error(settings, as_admin):
    client = MlflowClient()
    assert aliased_version(client, settings.model.registered_name, CHALLENGER) is None
    ensure_registered_model(client, settings.model.registered_name)
    assert aliased_version(client, settings.model.registered_name, CHALLENGER) is None
    with pytest.raises(BadInput, match="has no challenger yet: do this first"):
        require_alias(client, settings.model.registered_name, CHALLENGER, "do this first")


def test_resources_are_created_once(settings, as_admin):
    client = MlflowClient()
    first = ensure_experiment(client, settings.tracking.experiment)
    assert ensure_experiment(client, settings.tracking.experiment) == first
    ensure_registered_model(client, settings.model.registered_name)
    ensure_registered_model(client, settings.model.registered_name)
    assert client.get_registered_model(settings.model.registered_name).name


@pytest.mark.parametrize("ensure", [ensure_experiment, ensure_registered_model])
def test_racing_creators_all_get_the_one_resource(settings, as_admin, ensure):
    """Eight verbs that find the resource missing at the same moment (register-challenger on
    three runners, trainers on Colab): each ends with it, none with RESOURCE_ALREADY_EXISTS."""
    name, start = f"{settings.model.registered_name}-race", threading.Barrier(8)

    def create(_):
        client = MlflowClient()
        start.wait(timeout=60)
        return ensure(client, name)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(create, range(8)))
    assert len(set(results)) == 1


def test_a_deleted_experiment_is_refused_not_resurrected(settings, as_admin):
    client = MlflowClient()
    client.delete_experiment(ensure_experiment(client, settings.tracking.experiment))
    with pytest.raises(BadInput, match="is deleted"):
        ensure_experiment(client, settings.tracking.experiment)
