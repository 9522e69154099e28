"""Preprocessing from the data: numbers imputed and scaled, categories imputed and one-hot
encoded with a bounded width, unseen categories and missing values accepted."""

from __future__ import annotations

import numpy as np
import pandas as pd

from {{ cookiecutter.package_name }}.ml.features import column_roles, preprocessor

from ..mixed_data import ID_COLUMN, TARGET, mixed_frame, raw_rows


def features(task):
    return mixed_frame(task).drop(columns=[TARGET, ID_COLUMN])


def test_text_and_bool_columns_are_categories(platform_settings):
    roles = column_roles(features(platform_settings.task), platform_settings.data)
    assert roles.numeric == ("tenure_months", "monthly_spend")
    assert roles.categorical == ("region", "promo")


def test_listed_numeric_columns_become_categories(platform_settings):
    data = platform_settings.data.model_copy(update={"categorical": ["tenure_months"]})
    roles = column_roles(features(platform_settings.task), data)
    assert "tenure_months" in roles.categorical and "tenure_months" not in roles.numeric


def test_raw_rows_with_gaps_and_new_categories_transform_to_finite_numbers(platform_settings):
    frame = features(platform_settings.task)
    roles = column_roles(frame, platform_settings.data)
    prepared = preprocessor(roles, max_categories=10).fit(frame)
    out = prepared.transform(raw_rows())
    assert out.shape[0] == 3 and np.isfinite(out).all()
    assert out.shape[1] == prepared.transform(frame.head(3)).shape[1]


def test_the_encoded_width_is_bounded(platform_settings):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({
        "x": rng.normal(size=600),
        "city": rng.choice([f"city{i}" for i in range(40)], 600),
    })  # fmt: skip
    roles = column_roles(frame, platform_settings.data)
    out = preprocessor(roles, max_categories=8).fit_transform(frame)
    assert out.shape[1] <= 1 + 8
