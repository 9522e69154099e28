"""`mlops serve`: the champion answers on the central PC, and keeps answering across promotions.

One process: uvicorn runs the following app (MLflow's scoring app of the version that holds
`champion`), a watch thread reads the alias every `[serve] poll_seconds` and swaps in a moved
champion once its files are verified and it scored its own example. No child process, so
nothing outlives it, even a kill -9. MLflow's scoring server has no authentication of its own:
beyond 127.0.0.1, and behind a tunnel, every request must carry `MLOPS_SERVE_TOKEN`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shlex
import threading
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn
from mlflow import MlflowClient

from ..errors import BadInput
from ..inference.champion_watch import ChampionWatch
from ..inference.following_app import FollowingApp
from ..inference.serve_state import STATE_DIR, ServeState
from ..inference.served_model import ServedModel, load_served
from ..process import STOP_GRACE_S, Terminated, refuse_busy_port, sigterm_raises
from ..settings import ServeSettings, Settings, local_url
from ..tracking import connection
from ..tracking.model_registry import CHAMPION, require_alias
from ..variables import SERVE_TOKEN_ENV

WORK_DIR = f"{STATE_DIR}/models"


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    token: str | None

    @property
    def url(self) -> str:
        return local_url(self.host, self.port)


def endpoint(serve: ServeSettings) -> Endpoint:
    """Where to listen; refused beyond 127.0.0.1 without a token to ask of every request."""
    token = os.environ.get(SERVE_TOKEN_ENV) or None
    if token is None and not is_loopback(serve.host):
        raise BadInput(f"serving on {serve.host} lets anyone on that network in: set "
                       f"{SERVE_TOKEN_ENV} (then every request needs Authorization: Bearer "
                       "<token>), or use host 127.0.0.1")  # fmt: skip
    return Endpoint(serve.host, serve.port, token)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def example_request(served: ServedModel, where: Endpoint) -> str:
    """A request a teammate can paste: the version's own logged example."""
    body = json.dumps(json.loads(served.example), separators=(",", ":"))
    auth = f' -H "Authorization: Bearer ${SERVE_TOKEN_ENV}"' if where.token else ""
    return (f"curl -s -X POST {where.url}/invocations -H 'Content-Type: application/json'{auth} "
            f"-d {shlex.quote(body)}")  # fmt: skip


def serve_champion(
    settings: Settings, serve: ServeSettings, echo: Callable[[str], None] = print
) -> None:
    """Load the champion, then serve it in the foreground until Ctrl-C, following the alias."""
    where = endpoint(serve)
    refuse_busy_port(where.host, where.port, "the model server")
    name = settings.model.registered_name
    with connection.connected(settings) as uri:
        client = MlflowClient(tracking_uri=uri)
        with connection.server_errors(uri, "reader"), connection.first_contact():
            version = require_alias(client, name, CHAMPION, "run mlops promote")
            served = load_served(name, version, settings.resolve(WORK_DIR))
        state = ServeState.at(settings.resolve(STATE_DIR), where.url, where.port)
        app = FollowingApp(served, where.token)
        watch = ChampionWatch(app, client, uri, state, settings.resolve(WORK_DIR), echo)
        _announce(served, where, serve.poll_seconds, echo)
        # uvicorn stops gracefully on Ctrl-C or SIGTERM, then hands the signal back
        with sigterm_raises(), contextlib.suppress(KeyboardInterrupt, Terminated):
            _run(app, watch, state, where, serve.poll_seconds)
    echo("Stopping the model server ...")


def _announce(served: ServedModel, where: Endpoint, poll: float, echo: Callable[[str], None]):
    echo(f"serving models:/{served.name}@{CHAMPION} (version {served.version}, files verified) "
         f"at {where.url}/invocations")  # fmt: skip
    echo(f"following {CHAMPION}: checked every {poll:g} s; /model names the version answering")
    echo(f"a request to try: {example_request(served, where)}")
    echo("Ctrl-C stops it.")


def _run(app: FollowingApp, watch: ChampionWatch, state: ServeState, where: Endpoint,
         poll: float) -> None:  # fmt: skip
    """uvicorn in this thread (it turns Ctrl-C and SIGTERM into a graceful stop), the watch
    beside it; both end, and the state file goes, however the server stops."""
    config = uvicorn.Config(app, host=where.host, port=where.port, lifespan="off",
                            access_log=False, log_level="warning",
                            timeout_graceful_shutdown=STOP_GRACE_S)  # fmt: skip
    stopped = threading.Event()
    thread = threading.Thread(target=watch.run, args=(stopped, poll), daemon=True,
                              name="champion-watch")  # fmt: skip
    state.serving(app.served)
    thread.start()
    try:
        uvicorn.Server(config).run()
    finally:
        stopped.set()
        state.remove()
