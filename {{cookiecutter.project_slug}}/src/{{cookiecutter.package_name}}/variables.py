"""Every `MLOPS_*` environment variable, in one place: the ones a user sets are in the README's
table (`tests/test_variables.py` checks that, and that no other module spells one itself).

MLflow's own variables (`MLFLOW_TRACKING_URI`, `MLFLOW_TRACKING_USERNAME`, ...) are MLflow's and
keep their meaning; they are not listed here.
"""

CONFIG_ENV = "MLOPS_CONFIG"
"""The `mlops.toml` to use instead of the nearest one from the working directory upwards."""
DECISIONS_DIR_ENV = "MLOPS_DECISIONS_DIR"
"""Where promote saves its decision pictures (default `.mlops/decisions`)."""
DRY_RUN_ENV = "MLOPS_DRY_RUN"
"""`--dry-run` for register-challenger, promote and rollback (the workflows' dry-run input)."""
MODEL_CACHE_ENV = "MLOPS_MODEL_CACHE"
"""Where verified model files are kept, by digest; `off` downloads every time."""
PENDING_DIR_ENV = "MLOPS_PENDING_DIR"
"""Where runs wait while the server cannot be reached (a Google Drive folder on Colab)."""
PROGRESS_ENV = "MLOPS_PROGRESS"
"""`lines`: progress as plain lines (CI logs), `off`: none; else a line redrawn in a terminal."""
SERVE_TOKEN_ENV = "MLOPS_SERVE_TOKEN"  # noqa: S105 (the variable's name, not a token)
"""The bearer token `mlops serve` asks of every request; required to listen beyond 127.0.0.1."""

SET_BY_USERS = (
    CONFIG_ENV, DECISIONS_DIR_ENV, DRY_RUN_ENV, MODEL_CACHE_ENV, PENDING_DIR_ENV, PROGRESS_ENV,
    SERVE_TOKEN_ENV,
)  # fmt: skip

# Set by `mlops server start` and `mlops serve` for the processes they start, never by a user:
SERVER_PARENT_PID_ENV = "MLOPS_SERVER_PARENT_PID"
LOGIN_ATTEMPTS_ENV = "MLOPS_LOGIN_ATTEMPTS"
AUTH_CACHE_TTL_ENV = "MLOPS_AUTH_CACHE_TTL"
