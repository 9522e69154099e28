"""The link checks `mlops doctor` and the Colab notebook share: is the server there, is it
MLflow, is the login accepted. A check is a `CheckResult` line with its fix; a failed one carries
the exit code it stands for. Only `requests` and the access headers: the notebook imports this
without the central PC's modules (its server, tunnel and users).
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from ..errors import BadInput, ServerUnavailable
from .access_token import headers_for

TIMEOUT_S = 10
OK, FAIL, SKIP = "ok", "FAIL", "skip"
CONFIG, SERVER = BadInput.exit_code, ServerUnavailable.exit_code


@dataclass(frozen=True)
class CheckResult:
    check: str
    status: str
    detail: str
    fix: str = ""
    code: int = 0  # the exit code this failure stands for

    def line(self) -> str:
        text = f"{self.status:<4}  {self.check}: {self.detail}"
        return f"{text}  -> {self.fix}" if self.fix else text


def passed(check: str, detail: str) -> CheckResult:
    return CheckResult(check, OK, detail)


def failed(check: str, detail: str, fix: str, code: int = SERVER) -> CheckResult:
    return CheckResult(check, FAIL, detail, fix, code)


def skipped(check: str, detail: str) -> CheckResult:
    return CheckResult(check, SKIP, detail)


def worst(checks: list[CheckResult]) -> int:
    return max((v.code for v in checks if v.status == FAIL), default=0)


@dataclass
class Probe:
    """Where and as whom to ask; every request goes through `get`."""

    uri: str
    username: str | None
    password: str | None

    def get(self, path: str, **params) -> requests.Response:
        auth = (self.username, self.password) if self.username and self.password else None
        url = f"{self.uri.rstrip('/')}{path}"
        return requests.get(url, params=params or None, auth=auth, headers=headers_for(url),
                            timeout=TIMEOUT_S)  # fmt: skip


def reachable(probe: Probe) -> CheckResult:
    try:
        probe.get("/health")
    except requests.RequestException as exc:
        return failed(
            "server reachable", f"no answer from {probe.uri} ({type(exc).__name__})",
            "start the server / the tunnel on the central PC, or fix MLFLOW_TRACKING_URI",
        )  # fmt: skip
    return passed("server reachable", probe.uri)


def health(probe: Probe) -> CheckResult:
    status = probe.get("/health").status_code
    if status != 200:
        return failed(
            "/health", f"answered {status}", "is this an MLflow server? check MLFLOW_TRACKING_URI"
        )
    return passed("/health", "200")


def credentials(probe: Probe) -> CheckResult:
    if not (probe.username and probe.password):
        return failed(
            "credentials", "MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD are not set",
            "export both (on Colab: Secrets; in GitHub: repository secrets)",
        )  # fmt: skip
    status = probe.get("/api/2.0/mlflow/experiments/search", max_results=1).status_code
    if status == 401:
        return failed(
            "credentials", f"{probe.username!r} was rejected (401)",
            "check the password; an admin can reset it: mlops server set-password NAME",
        )  # fmt: skip
    if status == 403:
        return failed(
            "credentials", "403: the server refuses this host name",
            "add the host to --allowed-hosts: set [tunnel] domain and restart the server",
        )  # fmt: skip
    if status != 200:
        return failed(
            "credentials", f"an authenticated call answered {status}", "see the server log"
        )
    return passed("credentials", f"{probe.username!r} accepted")
