"""The variables MLflow reads are set for a block and put back after it: nothing a verb sets
leaks into the caller (a test, a notebook, the next verb in the same process)."""

import os

import mlflow
import pytest
import sklearn  # noqa: F401  (it sets KMP_* variables when first imported: not the project's)

from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.process import free_port
from {{ cookiecutter.package_name }}.tracking import connection
from {{ cookiecutter.package_name }}.tracking.mlflow_environment import HTTP_DEFAULTS, environment

from ..project import PLATFORM_CONFIG, with_changes

TIMEOUT = "MLFLOW_HTTP_REQUEST_TIMEOUT"


def test_a_block_sets_variables_and_restores_them_even_on_failure(monkeypatch):
    monkeypatch.setenv("MLOPS_TEST_KEPT", "before")
    monkeypatch.delenv("MLOPS_TEST_NEW", raising=False)
    with pytest.raises(RuntimeError), environment({"MLOPS_TEST_KEPT": "x", "MLOPS_TEST_NEW": "y"}):
        assert (os.environ["MLOPS_TEST_KEPT"], os.environ["MLOPS_TEST_NEW"]) == ("x", "y")
        raise RuntimeError
    assert os.environ["MLOPS_TEST_KEPT"] == "before"
    assert "MLOPS_TEST_NEW" not in os.environ


@pytest.mark.parametrize("users_uri", [None, "http://127.0.0.1:1"])
def test_connected_points_mlflow_at_the_server_only_inside_the_block(
    platform_settings, monkeypatch, users_uri
):
    if users_uri:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", users_uri)
    else:
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv(TIMEOUT, "3")  # the user's choice wins over the project's default
    for name in set(HTTP_DEFAULTS) - {TIMEOUT}:
        monkeypatch.delenv(name, raising=False)
    settings = with_changes(platform_settings, tracking={"uri": "http://127.0.0.1:9"})
    with connection.connected(settings) as uri:
        assert uri == mlflow.get_tracking_uri() == "http://127.0.0.1:9"
        assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "2"
        assert os.environ[TIMEOUT] == "3"
    assert os.environ.get("MLFLOW_TRACKING_URI") == users_uri
    assert mlflow.is_tracking_uri_set() == bool(users_uri)
    if users_uri:
        assert mlflow.get_tracking_uri() == users_uri
    assert os.environ[TIMEOUT] == "3"
    assert not set(HTTP_DEFAULTS) - {TIMEOUT} & set(os.environ)


def test_a_verb_leaves_the_environment_as_it_found_it(monkeypatch):
    """A verb run in-process (as tests and notebooks do) changes nothing around it."""
    monkeypatch.setenv("MLOPS_CONFIG", str(PLATFORM_CONFIG))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    before = dict(os.environ)
    assert main(["status"]) == 3  # nobody listens there
    assert dict(os.environ) == before
