"""`mlops doctor`: every link from this machine to the team's registry, each with a verdict and fix.

Runs anywhere (Colab, a laptop, the runner, the central PC): checks that do not apply here say
`skip`. Plain HTTP with short timeouts rather than MLflow's client, so a dead link is reported in
seconds and each status code maps to exactly one explanation.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import requests

from .central_pc.tracking_server import ServerPaths, host_of
from .central_pc.tunnel import host_allowed
from .errors import BadInput, ServerUnavailable
from .inference import serve_state
from .settings import Settings
from .tracking.probes import (
    CONFIG,
    FAIL,
    SERVER,
    TIMEOUT_S,
    CheckResult,
    Probe,
    credentials,
    failed,
    health,
    passed,
    reachable,
    skipped,
)

MIN_FREE_BYTES = 1 << 30


def diagnose(settings: Settings) -> Iterator[CheckResult]:
    """Each check in order; the server checks stop at the first that fails."""
    probe = Probe(
        settings.tracking_uri,
        os.environ.get("MLFLOW_TRACKING_USERNAME"),
        os.environ.get("MLFLOW_TRACKING_PASSWORD"),
    )
    yield passed("config", f"the settings in {settings.root} are valid")
    yield from data_checks(settings)
    server_ok = True
    for check in (reachable, health, credentials):
        verdict = _safely(check, probe)
        yield verdict
        if verdict.status == FAIL:
            server_ok = False
            break
    if server_ok:
        yield _safely(experiment_permission, probe, settings.tracking.experiment)
        yield _safely(model_permission, probe, settings.model.registered_name)
        yield _safely(decisions_permission, probe, settings.tracking.decisions_experiment)
    yield from tunnel_checks(settings, probe)
    yield from serve_checks(settings)
    yield from disk_space(settings)
    yield file_modes(settings)


def serve_checks(settings: Settings) -> Iterator[CheckResult]:
    """Each `mlops serve` running here: which version answers, and a champion it refused."""
    for state in serve_state.running(settings.resolve(serve_state.STATE_DIR)):
        if state.refused:
            yield failed("serve", state.line(), "promote or roll back to a version whose "
                         "files check out (mlops status)", CONFIG)  # fmt: skip
        else:
            yield passed("serve", state.line())


def data_checks(settings: Settings) -> Iterator[CheckResult]:
    """The data `train` and `promote` read, with the same checks they make first: every
    problem at once, one line each."""
    from .ml.data_checks import DataProblems

    try:
        yield data_check(settings)
    except DataProblems as found:
        for problem in found.problems:
            yield failed("data", problem, "fix the data or [data] in mlops.toml", CONFIG)


def data_check(settings: Settings) -> CheckResult:
    """One verdict on the data; `DataProblems` when the checks found any."""
    from .ml.data import load_split
    from .ml.data_checks import DataProblems
    from .ml.features import column_roles

    try:
        split = load_split(settings)
    except DataProblems:
        raise
    except BadInput as exc:
        return failed("data", str(exc), "fix the data or [data] in mlops.toml", CONFIG)
    roles = column_roles(split.x_train, settings.data)
    rows = len(split.x_train) + len(split.x_test)
    return passed(
        "data",
        f"{split.name}: {rows} rows, {len(roles.numeric)} numeric and "
        f"{len(roles.categorical)} categorical features, target {split.target!r}",
    )


def _safely(check, probe: Probe, *args) -> CheckResult:
    """A server that stops answering halfway is a failed check, not a crash."""
    try:
        return check(probe, *args)
    except (requests.RequestException, ValueError) as exc:
        name = check.__name__.replace("_", " ")
        return failed(name, f"no usable answer ({type(exc).__name__})", "see the server log")


def _permission(probe: Probe, resource_type: str, resource_id: str) -> str:
    """The user's permission on a resource, as the server resolves it ('' if it cannot say)."""
    response = probe.get(
        "/api/3.0/mlflow/users/permissions/get",
        username=probe.username, resource_type=resource_type, resource_id=resource_id,
    )  # fmt: skip
    return response.json().get("permission", "") if response.status_code == 200 else ""


def _denied(check: str, what: str, role: str) -> CheckResult:
    return failed(
        check, f"no permission on {what} (403)",
        f"ask the admin: mlops server add-user NAME --role {role} (or grant it in the UI)",
    )  # fmt: skip


def _resource(
    probe: Probe, check: str, endpoint: str, what: str, role: str, creator: str, **params
):
    """(the resource's JSON, None), or (None, the failing verdict: 403, missing, other)."""
    response = probe.get(endpoint, **params)
    if response.status_code == 403:
        return None, _denied(check, what, role)
    if response.status_code == 404:
        fix = f"mlops server add-user creates it (or the first {creator})"
        return None, failed(check, f"{what} does not exist yet", fix, CONFIG)
    if response.status_code != 200:
        return None, failed(check, f"answered {response.status_code}", "see the server log")
    return response.json(), None


def experiment_permission(probe: Probe, name: str) -> CheckResult:
    check = "experiment permission"
    body, failure = _resource(
        probe, check, "/api/2.0/mlflow/experiments/get-by-name", f"experiment {name!r}",
        "member", "mlops train", experiment_name=name,
    )  # fmt: skip
    if failure:
        return failure
    level = _permission(probe, "experiment", body["experiment"]["experiment_id"]) or "readable"
    return passed(check, f"{level} on {name!r}")


def decisions_permission(probe: Probe, name: str) -> CheckResult:
    """Every role reads promote's decisions; a user made before they existed lacks the grant."""
    check = "decisions permission"
    response = probe.get("/api/2.0/mlflow/experiments/get-by-name", experiment_name=name)
    if response.status_code in (403, 404):
        problem = "no permission (403)" if response.status_code == 403 else "does not exist yet"
        return failed(check, f"{problem} on experiment {name!r}",
                      "ask the admin: mlops server set-role NAME --role ROLE (grants, creates it)",
                      CONFIG if response.status_code == 404 else SERVER)  # fmt: skip
    if response.status_code != 200:
        return failed(check, f"answered {response.status_code}", "see the server log")
    experiment_id = response.json()["experiment"]["experiment_id"]
    level = _permission(probe, "experiment", experiment_id) or "readable"
    return passed(check, f"{level} on {name!r}")


def model_permission(probe: Probe, name: str) -> CheckResult:
    check = "model permission"
    _body, failure = _resource(
        probe, check, "/api/2.0/mlflow/registered-models/get", f"registered model {name!r}",
        "ci", "register-challenger", name=name,
    )  # fmt: skip
    if failure:
        return failure
    level = _permission(probe, "registered_model", name) or "readable"
    return passed(check, f"{level} on {name!r}")


def tunnel_checks(settings: Settings, probe: Probe) -> Iterator[CheckResult]:
    domain = host_of(settings.tunnel.domain)
    if settings.tunnel.provider == "none" or not domain:
        reason = "provider = none" if settings.tunnel.provider == "none" else "no domain set"
        yield skipped("tunnel", f"[tunnel] {reason}")
        yield skipped("allowed hosts", "no tunnel domain to check")
        return
    yield tunnel_answers(f"https://{domain}")
    yield allowed_host(probe.uri, domain)


def tunnel_answers(public_url: str) -> CheckResult:
    status: int | str
    try:
        status = requests.get(f"{public_url}/health", timeout=TIMEOUT_S).status_code
    except requests.RequestException as exc:
        status = type(exc).__name__
    if status != 200:
        return failed(
            "tunnel", f"{public_url}/health: {status}",
            "run `mlops tunnel` on the central PC (and `mlops server start`)",
        )  # fmt: skip
    return passed("tunnel", f"{public_url} answers")


def allowed_host(uri: str, domain: str) -> CheckResult:
    try:
        allowed = host_allowed(uri, domain)
    except ServerUnavailable as exc:
        return failed("allowed hosts", str(exc), "start the server")
    if not allowed:
        return failed(
            "allowed hosts", f"the server refuses Host {domain!r} (403)",
            "restart `mlops server start`: it adds [tunnel] domain to --allowed-hosts",
        )  # fmt: skip
    return passed("allowed hosts", f"{domain!r} accepted")


def disk_space(settings: Settings) -> Iterator[CheckResult]:
    paths = ServerPaths.from_settings(settings)
    for label, folder in (("data dir", paths.data_dir), ("artifacts dir", paths.artifacts_dir)):
        check = f"disk space ({label})"
        if not folder.is_dir():
            yield skipped(check, f"{folder} is not on this machine (not the central PC)")
            continue
        free = shutil.disk_usage(folder).free
        detail = f"{free / (1 << 30):.1f} GiB free in {folder}"
        if free < MIN_FREE_BYTES:
            yield failed(check, detail, "free some space or move the folder", CONFIG)
        else:
            yield passed(check, detail)


MODE_SCAN_LIMIT = 20_000  # entries per folder: a glance, not an audit of a huge artifact store


def private_folders(settings: Settings) -> list[Path]:
    """This machine's folders that hold the team's data, models or secrets."""
    from .experiments.pending import pending_dir
    from .tracking import model_cache  # MLflow: imported by the one check that needs it

    paths = ServerPaths.from_settings(settings)
    cache = model_cache.root()
    candidates = [paths.data_dir, paths.artifacts_dir, pending_dir(settings), cache]
    return [folder for folder in candidates if folder is not None and folder.is_dir()]


def file_modes(settings: Settings) -> CheckResult:
    """Files other OS users of this machine could read (made before 0600/0700 was the rule)."""
    folders = private_folders(settings)
    if not folders:
        return skipped("file modes", "no server, pending or cache folder on this machine")
    loose = [(folder, path) for folder in folders for path in _loose(folder)]
    if not loose:
        return passed("file modes", f"{len(folders)} folders readable by this OS user only")
    worst_folder, example = loose[0]
    return failed(
        "file modes", f"{len(loose)} files or folders others can read, e.g. {example}",
        f"chmod -R go-rwx {worst_folder}", CONFIG,
    )  # fmt: skip


def _loose(folder: Path) -> list[Path]:
    found = []
    for count, path in enumerate([folder, *folder.rglob("*")]):
        if count >= MODE_SCAN_LIMIT:
            break
        if not path.is_symlink() and path.stat().st_mode & 0o077:
            found.append(path)
    return found


def config_failure(message: str) -> CheckResult:
    return failed("config", message, "fix mlops.toml (mlops --help for the settings)", CONFIG)
