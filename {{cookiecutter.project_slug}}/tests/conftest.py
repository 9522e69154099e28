"""Shared fixtures: the platform tests' settings, and a real basic-auth MLflow server.

The server is started once per test session on a free 127.0.0.1 port, with the same code
`mlops server start` uses, and stopped at the end. Each test gets its own experiment and
registered model names, so tests never see each other's runs.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from {{ cookiecutter.package_name }}.central_pc.tracking_server import LocalServer, ServerPaths, prepare
from {{ cookiecutter.package_name }}.process import free_port
from {{ cookiecutter.package_name }}.settings import ServerSettings, Settings, load_settings

from .project import PLATFORM_CONFIG, with_changes


@pytest.fixture(autouse=True)
def pending_folder(tmp_path, monkeypatch) -> Path:
    """Runs saved while a test's server is unreachable stay in the test's own folder, never in
    the project's `.mlops/pending`, where a later `mlops upload-pending` would send them."""
    folder = tmp_path / "pending"
    monkeypatch.setenv("MLOPS_PENDING_DIR", str(folder))
    return folder


@pytest.fixture(autouse=True)
def model_cache(tmp_path, monkeypatch) -> Path:
    """Each test starts as a machine that never verified a model: nothing comes from the
    user's real cache, and a test's cached files never reach another test."""
    folder = tmp_path / "model-cache"
    monkeypatch.setenv("MLOPS_MODEL_CACHE", str(folder))
    return folder


@pytest.fixture(autouse=True)
def decisions_folder(tmp_path, monkeypatch) -> Path:
    """Decision pictures a test's promote draws stay in the test's own folder."""
    folder = tmp_path / "decisions"
    monkeypatch.setenv("MLOPS_DECISIONS_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def platform_project(tmp_path_factory) -> Path:
    """The platform tests' own project (`tests/fixtures/mlops.toml`), copied out of the
    checkout: the team's edits and its git state (uncommitted changes mark runs dirty) never
    change what these tests train, register and promote."""
    folder = tmp_path_factory.mktemp("platform-project")
    return Path(shutil.copyfile(PLATFORM_CONFIG, folder / "mlops.toml"))


@pytest.fixture(autouse=True)
def platform_config(monkeypatch, platform_project) -> Path:
    """Every verb a test runs, in-process or as a child, reads the platform tests' file,
    never the team's `mlops.toml`."""
    monkeypatch.setenv("MLOPS_CONFIG", str(platform_project))
    return platform_project


@pytest.fixture(scope="session")
def platform_settings(platform_project) -> Settings:
    return load_settings(platform_project)


@pytest.fixture(scope="session")
def tracking_server(tmp_path_factory):
    """A running `mlflow server --app-name <package>-guard`; yields it with its admin password."""
    root = tmp_path_factory.mktemp("server")
    paths = ServerPaths(root / "data", root / "artifacts")
    options = ServerSettings(port=free_port())
    password, _ = prepare(paths, options)
    with LocalServer(paths, options, password).start() as server:
        yield server


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL cluster for the whole session (skips where PostgreSQL is not installed)."""
    from .postgres_cluster import AVAILABLE, running_cluster

    if not AVAILABLE:
        pytest.skip("needs PostgreSQL's initdb and pg_ctl")
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture
def as_admin(tracking_server, monkeypatch):
    """MLflow's own variables pointing at the test server, as the admin."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server.url)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "admin")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", tracking_server.admin_password)
    return tracking_server


@pytest.fixture
def settings(platform_settings, tracking_server) -> Settings:
    """The project's settings aimed at the test server, with names unique to this test."""
    unique = uuid.uuid4().hex[:8]
    return with_changes(
        platform_settings,
        tracking={"uri": tracking_server.url, "experiment": f"test-{unique}"},
        model={"registered_name": f"test-model-{unique}"},
    )
