"""MLflow's servers (`mlflow server`, `mlflow models serve`), bound to the `mlops` process that
started them.

Both run their web server as a child, and nothing stops that child when the `mlops` process
dies without cleaning up (`kill -9`, an OOM kill, a closed terminal): the orphan keeps the
databases open, keeps its port and keeps answering. Started as

    python -m <this module> server <mlflow server arguments>
    python -m <this module> models serve <mlflow models serve arguments>

in a process group of its own, this process asks Linux to send it SIGTERM when its parent dies
(`PR_SET_PDEATHSIG`), and on SIGTERM, SIGINT or SIGHUP stops its whole group (the web server
and its workers) before it exits. Once `mlflow server` has prepared the command line, it
becomes uvicorn (`exec`): the parent-death signal survives the exec, and uvicorn stops
gracefully on it. Elsewhere, `restore` and `server start` still refuse while the port answers.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

from ..variables import SERVER_PARENT_PID_ENV

PR_SET_PDEATHSIG = 1
APP_NAME = f"{__name__.split('.')[0]}-guard"  # the `mlflow.app` entry point: unique to this project


def die_with_parent() -> None:
    """Linux: SIGTERM when the parent dies; if it already has, stop now."""
    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    expected = os.environ.get(SERVER_PARENT_PID_ENV)
    if expected and os.getppid() != int(expected):  # died before prctl took effect
        stop_group(signal.SIGTERM, None)


def stop_group(signum: int, _frame) -> None:
    """Forward the signal to the whole group (uvicorn included), then die of it too."""
    signal.signal(signum, signal.SIG_DFL)
    os.killpg(os.getpgrp(), signum)


def main(argv: list[str]) -> None:
    """`argv` is MLflow's own command line after `mlflow`."""
    os.umask(0o077)  # the databases MLflow creates at start-up: the server's OS user's only
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop_group)
    die_with_parent()
    import mlflow.server
    from mlflow.cli import cli

    if hasattr(mlflow.server, "_exec_cmd"):
        mlflow.server._exec_cmd = exec_in_place
    cli.main(argv, prog_name="mlflow")


def exec_in_place(cmd: list[str], *, extra_env: dict[str, str] | None = None, **_: object) -> None:
    """Become the web server instead of keeping `mlflow server` (and all of MLflow it has
    imported, ~250 MB) resident as its parent. The process group, the parent-death signal and
    the pid stay: stopping the group still stops the server."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe(cmd[0], cmd, {**os.environ, **(extra_env or {})})  # noqa: S606 (MLflow's own command)


if __name__ == "__main__":
    main(sys.argv[1:])
