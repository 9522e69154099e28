"""`mlops demo`: the whole lifecycle on a throw-away local server, in about a minute.

A real `mlflow server --app-name <package>-guard` (sqlite and artifacts under `.mlops/demo/`, a
generated admin password kept 0600 there) on a free 127.0.0.1 port: train candidates, register
the best as challenger, promote it, train a worse one and watch the gate refuse it, then
monitor the champion on rows like its training data and on the same rows with a column moved.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass

from .central_pc.tracking_server import (
    ADMIN_USERNAME,
    LocalServer,
    ServerPaths,
    prepare,
)
from .errors import BadInput
from .experiments.train import train
from .ml.cross_validation import scores_line
from .ml.data import load_split
from .ml.features import column_roles
from .monitoring.monitor import MonitorRequest, monitor
from .process import free_port, hold_in_foreground
from .registry.candidate_search import CandidateFilter
from .registry.challenger import register_challenger
from .registry.promotion import promote
from .registry.status import status
from .settings import ServerSettings, Settings
from .tracking.mlflow_environment import environment

DEMO_DIR = ".mlops/demo"


@dataclass(frozen=True)
class DemoPlan:
    """Parameter values that give distinct candidates, the best one last (so that the worse
    model trained afterwards is the only run newer than the challenger), and a worse model."""

    param: str
    candidates: tuple[float, ...]
    worse: float


PLANS = {
    "LogisticRegression": DemoPlan("C", (5.0, 0.05, 0.5), 0.002),
    "Ridge": DemoPlan("alpha", (0.3, 3.0, 30.0), 300.0),
}


@dataclass
class DemoResult:
    url: str
    password_file: str
    champion: str
    refused: str
    server: LocalServer


def plan_for(settings: Settings) -> DemoPlan:
    estimator = settings.model.estimator.rsplit(".", 1)[-1]
    if estimator not in PLANS:
        raise BadInput(f"mlops demo knows {', '.join(PLANS)}; [model] estimator is {estimator}")
    return PLANS[estimator]


def start_server(settings: Settings) -> LocalServer:
    folder = settings.resolve(DEMO_DIR)
    shutil.rmtree(folder, ignore_errors=True)
    paths = ServerPaths(folder / "server", folder / "artifacts")
    options = ServerSettings(port=free_port())
    password, _ = prepare(paths, options)
    return LocalServer(paths, options, password).start()


def demo(
    settings: Settings, keep_server: bool = False, echo: Callable[[str], None] = print
) -> DemoResult:
    plan = plan_for(settings)
    echo("Starting a local tracking server (sqlite, the team's guard app) ...")
    server = start_server(settings)
    echo(f"   tracking server at {server.url}")
    local = settings.replace("tracking", uri=server.url)
    credentials = {
        "MLFLOW_TRACKING_USERNAME": ADMIN_USERNAME,
        "MLFLOW_TRACKING_PASSWORD": server.admin_password,
    }
    try:
        with environment(credentials):
            result = _lifecycle(local, plan, server, echo)
    finally:
        if not keep_server:
            server.stop()
    return result


def _lifecycle(settings: Settings, plan: DemoPlan, server: LocalServer, echo) -> DemoResult:
    primary = settings.metric.primary
    echo(f"\n1. Training {len(plan.candidates)} candidates ({plan.param} = {plan.candidates})")
    for value in plan.candidates:
        run = train(settings, {plan.param: value}, run_name=f"demo-{plan.param}-{value}")
        echo(f"   run {run.run_id}: {scores_line(primary, run.metrics)}")
    echo("\n2. register-challenger: the best finished run by validation score becomes 'challenger'")
    echo("   " + register_challenger(settings).summary(settings))
    echo("\n3. promote: the gates in [promotion] decide")
    first = promote(settings)
    echo(_indent(first.text()) + "\n   " + first.outcome)
    echo(f"\n4. A worse candidate ({plan.param} = {plan.worse}) is registered as challenger")
    train(settings, {plan.param: plan.worse}, run_name=f"demo-worse-{plan.param}-{plan.worse}")
    registration = register_challenger(settings, CandidateFilter(), newer_than_challenger=True)
    echo("   " + registration.summary(settings))
    echo("\n5. promote again: the gate refuses it, nothing moves")
    second = promote(settings)
    echo(_indent(second.text()) + "\n   " + second.outcome)
    echo("\n6. status\n" + _indent(status(settings).text))
    _monitoring(settings, echo)
    password_file = server.paths.admin_password_file
    return DemoResult(server.url, str(password_file), first.outcome, second.outcome, server)


def _monitoring(settings: Settings, echo) -> None:
    """Two checks of the champion: this week's rows, then the same rows with a column moved."""
    split = load_split(settings)
    week = split.x_train.sample(min(300, len(split.x_train)), random_state=0)
    column = column_roles(split.x_train, settings.data).numeric[0]
    moved = week.assign(**{column: week[column] + split.x_train[column].std()})
    folder = settings.resolve(DEMO_DIR)
    echo(f"\n7. monitor: {len(week)} rows like the training data, then the same with '{column}' "
         "moved by one standard deviation")  # fmt: skip
    for name, rows in (("week.csv", week), ("moved.csv", moved)):
        rows.to_csv(folder / name, index=False)
        watched = monitor(settings, MonitorRequest(folder / name))
        echo(f"   {name}: exit {1 if watched.alarm else 0}, {watched.verdict()}")


def _indent(text: str) -> str:
    return "\n".join("   " + line for line in text.splitlines())


def keep_serving(result: DemoResult, echo: Callable[[str], None] = print) -> None:
    """`--keep-server`: the UI stays up until Ctrl-C or SIGTERM, which stop the server too."""
    echo(f"\nUI: {result.url}  (login: {ADMIN_USERNAME}, password in {result.password_file})")
    echo("The demo server keeps running; Ctrl-C stops it.")
    hold_in_foreground(result.server.running, result.server.stop, "the demo server", echo)


CLOSING_WORDS = (
    f"\nThe demo server is stopped (its runs stay in {DEMO_DIR}). To browse them in the UI, "
    "run `mlops demo --keep-server`."
)
