"""Read the registry as a test checks it: which version an alias points at."""

from __future__ import annotations

from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion

from {{ cookiecutter.package_name }}.tracking.model_registry import aliased_version


def aliased(settings, alias: str) -> ModelVersion | None:
    """Through the server the settings (or MLFLOW_TRACKING_URI) name, not MLflow's global URI."""
    client = MlflowClient(tracking_uri=settings.tracking_uri)
    return aliased_version(client, settings.model.registered_name, alias)


def version_of(settings, alias: str) -> str | None:
    found = aliased(settings, alias)
    return found.version if found else None
