"""What the Colab notebook needs beyond `train` and `tune`: secrets, settings, a connection check.

Secrets never sit in a cell or an output: they go from Colab's Secrets panel (elsewhere: the
environment) straight into the variables MLflow reads. The connection check asks the server the
three questions that decide whether training can log (reachable? authenticated? allowed to write
in the experiment?) and answers each in one line, with the link checks `mlops doctor` uses
(`probes`).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import requests

from ..errors import BadInput, ServerUnavailable
from ..settings import Settings, load_settings
from ..tracking import probes
from ..tracking.access_token import ID_ENV, SECRET_ENV
from ..tracking.mlflow_environment import QUIET, quiet_libraries, unless_set
from ..tracking.probes import CheckResult, Probe

SECRETS = ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
OPTIONAL_SECRETS = (ID_ENV, SECRET_ENV)
"""Only for a tunnel behind Cloudflare Access (docs/tunnel-cloudflared.md)."""
WRITERS = {"EDIT", "MANAGE"}


def colab_secret(name: str) -> str:
    """The value from Colab Secrets on Colab, else from the environment ('' when missing)."""
    try:
        from google.colab import userdata
    except ImportError:
        return os.environ.get(name, "")
    try:
        return userdata.get(name) or ""
    except userdata.SecretNotFoundError:
        return os.environ.get(name, "")
    except userdata.NotebookAccessError:
        raise BadInput(
            f"this notebook may not read the secret {name}: switch on its 'Notebook access' "
            "in the Secrets panel (the key icon on the left)"
        ) from None


def use_secrets(names: tuple[str, ...] = SECRETS) -> None:
    """Put each secret where MLflow reads it; `BadInput` names the first one missing."""
    for name in names:
        value = colab_secret(name)
        if not value:
            raise BadInput(
                f"missing secret {name}: add it in Colab's Secrets panel (the key icon on the "
                "left) and switch on 'Notebook access'; outside Colab, set the environment variable"
            )
        os.environ[name] = value
    for name in OPTIONAL_SECRETS:
        value = colab_secret(name)
        if value:
            os.environ[name] = value


def quiet() -> None:
    """For the rest of the notebook session, as for its secrets: no library chatter between
    what the cells print (see `quiet_libraries`), and no artifact progress bars."""
    quiet_libraries()
    os.environ.update(unless_set(QUIET))


def notebook_settings(experiment: str | None = None, data_csv: str | None = None) -> Settings:
    """The checkout's `mlops.toml`; `experiment` logs into another one (e.g. a personal sandbox,
    whose runs `register-challenger` never looks at); `data_csv` trains on a CSV kept out of
    git (on Google Drive, or uploaded), with the same columns as the team's data."""
    settings = load_settings()
    if experiment:
        settings = settings.replace("tracking", experiment=experiment)
    if data_csv:
        settings = settings.replace("data", source=data_csv)
    return settings


def check_connection(settings: Settings) -> list[CheckResult]:
    """Reachable, authenticated, allowed to log in the experiment: stops at the first failure."""
    probe = Probe(
        settings.tracking_uri,
        os.environ.get("MLFLOW_TRACKING_USERNAME"),
        os.environ.get("MLFLOW_TRACKING_PASSWORD"),
    )
    steps: list[Callable[[], CheckResult]] = [
        lambda: probes.reachable(probe),
        lambda: probes.health(probe),
        lambda: probes.credentials(probe),
        lambda: may_log(probe, settings.tracking.experiment),
    ]
    checks: list[CheckResult] = []
    for step in steps:
        try:
            checks.append(step())
        except (requests.RequestException, ValueError, KeyError) as exc:
            problem = f"no usable answer ({type(exc).__name__})"
            checks.append(probes.failed("server", problem, "run the check again"))
        if checks[-1].status == probes.FAIL:
            break
    return checks


def may_log(probe: Probe, experiment: str) -> CheckResult:
    """Reading an experiment is not enough to log runs in it: EDIT or MANAGE is (or admin)."""
    check, fix = "may log runs", "ask the admin: mlops server add-user NAME --role member"
    found = probe.get("/api/2.0/mlflow/experiments/get-by-name", experiment_name=experiment)
    if found.status_code == 403:
        return probes.failed(check, f"no permission on experiment {experiment!r} (403)", fix)
    if found.status_code == 404:
        return probes.passed(check, f"experiment {experiment!r} is new: the first run creates it")
    found.raise_for_status()
    if probe.get("/api/2.0/mlflow/users/current").json()["user"]["is_admin"]:
        return probes.passed(check, f"admin, experiment {experiment!r}")
    answer = probe.get(
        "/api/3.0/mlflow/users/permissions/get",
        username=probe.username,
        resource_type="experiment",
        resource_id=found.json()["experiment"]["experiment_id"],
    ).json()
    level = answer.get("permission") or "no"
    if level not in WRITERS:
        return probes.failed(check, f"{level} permission on {experiment!r}: runs need EDIT", fix)
    return probes.passed(check, f"{level} on experiment {experiment!r}")


def require_connection(settings: Settings, echo: Callable[[str], None] = print) -> None:
    """Print each check; raise `ServerUnavailable` with the failing line, if one fails."""
    checks = check_connection(settings)
    for verdict in checks:
        echo(verdict.line())
    failed = [v for v in checks if v.status == probes.FAIL]
    if failed:
        raise ServerUnavailable(failed[0].line())
