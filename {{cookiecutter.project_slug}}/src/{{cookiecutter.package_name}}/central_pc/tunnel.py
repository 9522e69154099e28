"""Publish the central PC's server to Colab and GitHub, then prove from outside that it is locked.

Providers (`[tunnel] provider`):
- `ngrok`: through pyngrok (the `server` extra), token from `NGROK_AUTHTOKEN`, the team's free
  static domain from `[tunnel] domain`. pyngrok downloads the ngrok agent on first use.
- `cloudflared`: the `cloudflared` binary; a named tunnel (token in cloudflared's own
  `TUNNEL_TOKEN`, public hostname set in the Cloudflare dashboard) or, without a domain, a
  throw-away quick tunnel on `*.trycloudflare.com`.
- `none`: nothing is published (a VPN or LAN reaches the server directly).

Whatever the provider, the published URL must answer `/health` and refuse an unauthenticated
API call with 401; if it answers that call at all, the tunnel is closed at once.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from ..errors import BadInput, ServerUnavailable, first_line
from ..process import hold_in_foreground, terminate_tree
from ..settings import Settings
from ..tracking.access_token import headers_for
from .tracking_server import admin_url, host_of

PROBE = "/api/2.0/mlflow/experiments/search?max_results=1"
HOST_PROBE = "/api/3.0/mlflow/server-info"
QUICK_TUNNEL_HOSTS = "*.trycloudflare.com"
QUICK_URL = re.compile(r"https://[a-z0-9-]+\.trycloudflare\.com")
TIMEOUT_S = 15


@dataclass(frozen=True)
class TunnelPlan:
    """What `mlops tunnel` will publish, checked before any provider is called."""

    provider: str
    local_url: str
    domain: str

    @property
    def public_url(self) -> str:
        return f"https://{self.domain}" if self.domain else ""


def choose_tunnel(settings: Settings) -> TunnelPlan:
    """Validate the settings and secrets the provider needs; one clear line for each gap."""
    provider, domain = settings.tunnel.provider, host_of(settings.tunnel.domain)
    chosen = TunnelPlan(provider, admin_url(settings), domain)
    if provider == "ngrok":
        if not os.environ.get("NGROK_AUTHTOKEN"):
            raise BadInput(
                "set NGROK_AUTHTOKEN (dashboard.ngrok.com, Your Authtoken) in this PC's "
                "environment; never in a file of the repository"
            )
        if not domain:
            raise BadInput(
                "[tunnel] domain is empty: claim your free static domain (dashboard.ngrok.com, "
                "Domains), set it in mlops.toml, then restart `mlops server start`"
            )
    if provider == "cloudflared":
        if domain and not os.environ.get("TUNNEL_TOKEN"):
            raise BadInput(
                "set TUNNEL_TOKEN to your named tunnel's token (Cloudflare Zero Trust, Networks, "
                "Tunnels); see docs/tunnel-cloudflared.md"
            )
        if not domain and QUICK_TUNNEL_HOSTS not in settings.server.allowed_hosts:
            raise BadInput(
                f'[tunnel] domain is empty: for a quick tunnel add "{QUICK_TUNNEL_HOSTS}" to '
                "[server] allowed_hosts and restart the server, or set up a named tunnel"
            )
    return chosen


def ensure_local(local_url: str) -> None:
    try:
        healthy = requests.get(f"{local_url}/health", timeout=5).status_code == 200
    except requests.RequestException:
        healthy = False
    if not healthy:
        raise ServerUnavailable(
            f"no tracking server answers at {local_url}: start it first (mlops server start)"
        )


# --- provider-independent checks ----------------------------------------------------------------


def unauthenticated_status(url: str, host: str | None = None, path: str = PROBE) -> int:
    """The status of an API call without credentials (optionally with another Host header)."""
    headers = {"ngrok-skip-browser-warning": "1", **headers_for(url)}
    if host:
        headers["Host"] = host
    try:
        return requests.get(f"{url}{path}", headers=headers, timeout=TIMEOUT_S).status_code
    except requests.RequestException as exc:
        raise ServerUnavailable(f"{url} does not answer ({type(exc).__name__})") from None


def host_allowed(url: str, host: str | None = None) -> bool:
    """Whether the server accepts requests for `host`: asked on a path anyone may call (the
    guard answers 401 elsewhere before MLflow checks the host), and not on /health (exempt)."""
    return unauthenticated_status(url, host, HOST_PROBE) != 403


def verify(url: str) -> None:
    """The published URL answers /health and refuses an API call without credentials (401)."""
    try:
        health = requests.get(f"{url}/health", headers=headers_for(url), timeout=TIMEOUT_S)
    except requests.RequestException as exc:
        raise ServerUnavailable(f"{url}/health does not answer ({type(exc).__name__})") from None
    if health.status_code != 200:
        raise ServerUnavailable(f"{url}/health answered {health.status_code}, not 200")
    if not host_allowed(url):
        raise ServerUnavailable(
            f"{url} is refused by the server (403 Invalid Host): set [tunnel] domain to "
            f"{host_of(url)!r} and restart `mlops server start`"
        )
    status = unauthenticated_status(url)
    if status != 401:
        raise ServerUnavailable(
            f"{url} answered an API call without credentials with {status}, not 401: the "
            "server is not protected; the tunnel was closed"
        )


# --- providers ------------------------------------------------------------------------------------


@dataclass
class Published:
    """A live tunnel: its public URL, the process keeping it up, and how to close it."""

    url: str
    process: subprocess.Popen
    close: Callable[[], None]


def open_ngrok(chosen: TunnelPlan) -> Published:
    try:
        from pyngrok import conf, ngrok
        from pyngrok.exception import PyngrokError, PyngrokNgrokInstallError
    except ImportError:
        raise BadInput("pyngrok is not installed here: uv sync --extra server") from None
    installed = shutil.which("ngrok")  # else pyngrok downloads its own agent on first use
    config = conf.PyngrokConfig(auth_token=os.environ["NGROK_AUTHTOKEN"], ngrok_path=installed)
    try:
        tunnel = ngrok.connect(chosen.local_url, pyngrok_config=config, url=chosen.public_url)
    except PyngrokNgrokInstallError as exc:  # the agent is downloaded on first use
        raise ServerUnavailable(
            f"could not download the ngrok agent ({first_line(exc)}): check this PC's internet "
            "access, or install ngrok on the PATH (docs/tunnel-ngrok.md)"
        ) from None
    except PyngrokError as exc:
        raise ServerUnavailable(f"ngrok refused the tunnel: {first_line(exc)}") from None
    if tunnel.public_url is None:
        raise ServerUnavailable("ngrok opened a tunnel without a public URL: see its dashboard")
    process = ngrok.get_ngrok_process(config).proc
    return Published(tunnel.public_url, process, lambda: ngrok.kill(config))


def cloudflared_command(chosen: TunnelPlan, binary: str) -> list[str]:
    """A named tunnel (routes and token from Cloudflare) or a quick tunnel to the local URL."""
    if chosen.domain:
        return [binary, "tunnel", "--no-autoupdate", "run"]  # reads TUNNEL_TOKEN
    return [binary, "tunnel", "--no-autoupdate", "--url", chosen.local_url]


def quick_tunnel_url(line: str) -> str | None:
    found = QUICK_URL.search(line)
    return found.group(0) if found else None


def open_cloudflared(chosen: TunnelPlan) -> Published:
    binary = shutil.which("cloudflared")
    if binary is None:
        raise BadInput("cloudflared is not installed: see docs/tunnel-cloudflared.md")
    process = subprocess.Popen(
        cloudflared_command(chosen, binary), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip

    def close() -> None:
        if process.poll() is None:
            terminate_tree(process)

    url = chosen.public_url or _read_quick_url(process)
    if url is None:
        close()
        raise ServerUnavailable("cloudflared did not publish a URL in 60 s")
    return Published(url, process, close)


def _read_quick_url(process: subprocess.Popen, timeout: float = 60) -> str | None:
    """cloudflared prints the quick tunnel's URL among its log lines on stderr."""
    found: list[str] = []

    def read() -> None:
        for line in process.stderr or ():
            url = quick_tunnel_url(line)
            if not found and url:
                found.append(url)

    threading.Thread(target=read, daemon=True).start()  # keeps draining the pipe afterwards
    deadline = time.monotonic() + timeout
    while not found and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.25)
    return found[0] if found else None


OPENERS = {"ngrok": open_ngrok, "cloudflared": open_cloudflared}


def instructions(url: str) -> str:
    return "\n".join([
        f"Published {url} (checked: /health answers, an API call without credentials gets 401).",
        "Give clients this URL as MLFLOW_TRACKING_URI, with their own user and password:",
        "  GitHub: Settings > Secrets and variables > Actions: MLFLOW_TRACKING_URI,",
        "          MLFLOW_TRACKING_USERNAME, MLFLOW_TRACKING_PASSWORD (the ci user)",
        "  Colab:  the key icon (Secrets): the same three names, each member's own login",
        "Ctrl-C closes the tunnel.",
    ])  # fmt: skip


def publish_server(settings: Settings, echo: Callable[[str], None] = print) -> None:
    """`mlops tunnel`: publish, verify from outside, then hold the tunnel until Ctrl-C."""
    chosen = choose_tunnel(settings)
    if chosen.provider == "none":
        echo(
            "[tunnel] provider = none: nothing is published. Clients on your VPN or LAN reach "
            f"the server directly (start it with --host 0.0.0.0; it listens on port "
            f"{settings.server.port})."
        )
        return
    ensure_local(chosen.local_url)
    published = OPENERS[chosen.provider](chosen)

    def hold() -> subprocess.Popen:
        verify(published.url)
        echo(instructions(published.url))
        return published.process

    hold_in_foreground(hold, published.close, f"the {chosen.provider} tunnel", echo)
