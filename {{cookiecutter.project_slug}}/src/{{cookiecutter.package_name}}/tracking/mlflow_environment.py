"""The process environment MLflow reads, and the one context manager that changes it.

MLflow takes its HTTP retries and timeouts, its login and its logging level from environment
variables (the login on every request, the logging level at import). The project's values go in
through `environment`, which puts the previous ones back when the block ends: nothing leaks into
the caller (a test, a notebook, the next verb in the same process). Any variable the user set
wins over the project's defaults. This module imports nothing heavy, so the CLI can set the
logging level before MLflow is imported.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

HTTP_DEFAULTS = {
    # MLflow's own (7 retries, 120 s timeout, backoff factor 2) take minutes to report a dead
    # server; these report it within about 30 s
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "10",
    # pip_requirements are explicit and the lock hash is a run tag: no uv export per model
    "MLFLOW_UV_AUTO_DETECT": "false",
    "MLFLOW_LOG_UV_FILES": "false",
    # ending a run otherwise fetches it again only to print its link: one request per run
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
}

FIRST_CONTACT = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "10"}
"""A verb's first request: no retry, 10 s. A server that accepts connections and never answers
(a stalled tunnel, a hung process) is then reported in about 10 s instead of after every retry;
once it has answered, the retries of `HTTP_DEFAULTS` protect the rest of the work."""

QUIET = {
    # library chatter would bury the one line a failing command prints
    "MLFLOW_LOGGING_LEVEL": "ERROR",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


def quiet_libraries() -> None:
    """Library chatter would bury the one line a failing command prints, or a cell's output:
    MLflow's and urllib3's log lines, MLflow's warnings, pandas' FutureWarnings, and tqdm's
    hint to install notebook widgets."""
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="mlflow")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message="IProgress not found")


def unless_set(values: Mapping[str, str]) -> dict[str, str]:
    """The project's defaults for the variables the user has not set."""
    return {name: value for name, value in values.items() if name not in os.environ}


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set variables for a block, then restore them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
