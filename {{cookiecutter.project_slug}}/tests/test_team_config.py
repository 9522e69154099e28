"""The team's own `mlops.toml`, on the team's real data.

Every other test runs the platform on its own frozen project (`tests/fixtures/mlops.toml`), so
no edit of the team's file can break them. These tests are the other half: whatever the team
has made of its file (other columns, another estimator, metric or search space), it loads, its
data passes the checks `mlops train` makes, and its model fits and scores there.
"""

from __future__ import annotations

import math

import pytest

from {{ cookiecutter.package_name }}.ml.data import load_split
from {{ cookiecutter.package_name }}.ml.search import parse_space
from {{ cookiecutter.package_name }}.ml.training import fit_candidate
from {{ cookiecutter.package_name }}.settings import Settings, load_settings

from .project import PROJECT_ROOT


@pytest.fixture(scope="module")
def team_settings() -> Settings:
    return load_settings(PROJECT_ROOT / "mlops.toml")


def test_the_teams_file_loads_and_is_consistent(team_settings):
    assert team_settings.tracking.experiment and team_settings.model.registered_name
    assert team_settings.root == PROJECT_ROOT


def test_the_teams_model_fits_its_data_and_scores_its_metric(team_settings):
    """The same checks and fit as `mlops train`, without a server: a refusal here is the one
    line `mlops train` would print."""
    candidate = fit_candidate(team_settings, load_split(team_settings), {})
    primary = team_settings.metric.primary
    assert math.isfinite(candidate.metrics[primary])
    assert math.isfinite(candidate.metrics[f"cv_{primary}"])


def test_the_teams_search_space_names_parameters_of_its_estimator(team_settings):
    if not team_settings.tune.space:
        pytest.skip("no [tune.space] in mlops.toml")
    assert parse_space(team_settings)
