"""Build the scikit-learn pipeline from `[model]` in `mlops.toml` and `--set` overrides."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from ..errors import BadInput
from ..settings import Settings
from .features import Columns, column_roles, preprocessor

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef, unused-ignore]


def estimator_class(path: str) -> type[BaseEstimator]:
    """The class named by a dotted path inside scikit-learn (nothing else is importable)."""
    module_name, _, class_name = path.rpartition(".")
    if not module_name.startswith("sklearn."):
        raise BadInput(f"[model] estimator: {path!r} is not a scikit-learn class")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError):
        raise BadInput(f"[model] estimator: {path!r} does not exist") from None
    if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
        raise BadInput(f"[model] estimator: {path!r} is not an estimator")
    return cls


def parse_overrides(pairs: list[str] | tuple[str, ...]) -> dict[str, object]:
    """`NAME=VALUE` pairs; values are read as TOML literals (1, 0.5, true, "x"), else as text."""
    params: dict[str, object] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip():
            raise BadInput(f"--set {pair!r}: expected NAME=VALUE")
        params[name.strip()] = _literal(text.strip())
    return params


def _literal(text: str) -> object:
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def check_params(cls: type[BaseEstimator], params: Mapping[str, object]) -> None:
    known = cls().get_params(deep=False)
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise BadInput(
            f"unknown parameter {unknown[0]!r} for {cls.__name__} "
            f"(known: {', '.join(sorted(known))})"
        )


def build_pipeline(
    estimator: str, params: dict[str, object], seed: int, columns: Columns, max_categories: int
) -> Pipeline:
    """Preprocessing of the raw columns + the estimator, seeded when it takes a `random_state`.

    Preprocessing is part of the logged model, so it is fitted on the training rows only (inside
    each validation fold too) and a served request sends raw rows.
    """
    cls = estimator_class(estimator)
    check_params(cls, params)
    if "random_state" in cls().get_params(deep=False):
        params = {"random_state": seed, **params}
    return Pipeline([("prepare", preprocessor(columns, max_categories)), ("model", cls(**params))])


def pipeline_for(
    settings: Settings, features: pd.DataFrame, overrides: dict[str, object] | None = None
) -> Pipeline:
    """The configured pipeline for these raw feature columns, with `--set` overrides."""
    return build_pipeline(
        settings.model.estimator,
        {**settings.model.params, **(overrides or {})},
        settings.data.seed,
        column_roles(features, settings.data),
        settings.data.max_categories,
    )


def model_params(pipeline: Pipeline) -> dict[str, object]:
    """The estimator's full parameter set, as logged on the run (one batched call)."""
    return pipeline.named_steps["model"].get_params(deep=False)
