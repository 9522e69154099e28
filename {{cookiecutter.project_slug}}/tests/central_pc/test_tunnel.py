"""`mlops tunnel`: everything up to the provider call, and the checks it makes from outside.

No tunnel binary is ever downloaded or started here: the provider-independent checks run
against the real local test server, and against a real (unprotected) HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import importlib.util
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from {{ cookiecutter.package_name }}.central_pc.tunnel import (
    TunnelPlan,
    choose_tunnel,
    cloudflared_command,
    host_allowed,
    open_cloudflared,
    open_ngrok,
    quick_tunnel_url,
    verify,
)
from {{ cookiecutter.package_name }}.cli import main
from {{ cookiecutter.package_name }}.errors import BadInput, ServerUnavailable
from {{ cookiecutter.package_name }}.process import free_port

from ..central_pc_fixtures import one_line_error, write_config
from ..project import with_changes

FAKE_TOKEN = secrets.token_hex(8)  # never a real ngrok token in the repository

DOMAIN = "team-test.ngrok-free.app"


@pytest.fixture
def tunnel_settings(platform_settings, monkeypatch):
    monkeypatch.delenv("NGROK_AUTHTOKEN", raising=False)
    monkeypatch.delenv("TUNNEL_TOKEN", raising=False)

    def make(provider: str, domain: str = DOMAIN, **server):
        return with_changes(
            platform_settings, tunnel={"provider": provider, "domain": domain}, server=server
        )

    return make


class OpenHandler(BaseHTTPRequestHandler):
    """A server that answers everything with 200: what an unprotected MLflow looks like."""

    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def open_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), OpenHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


# --- the plan: secrets and settings, before any provider is called ------------------------------


def test_ngrok_needs_its_token_from_the_environment(tunnel_settings):
    with pytest.raises(BadInput, match="set NGROK_AUTHTOKEN"):
        choose_tunnel(tunnel_settings("ngrok"))


def test_ngrok_needs_the_static_domain(tunnel_settings, monkeypatch):
    monkeypatch.setenv("NGROK_AUTHTOKEN", FAKE_TOKEN)
    with pytest.raises(BadInput, match=r"\[tunnel\] domain is empty"):
        choose_tunnel(tunnel_settings("ngrok", domain=""))


def test_ngrok_publishes_the_local_server_on_the_domain(tunnel_settings, monkeypatch):
    monkeypatch.setenv("NGROK_AUTHTOKEN", FAKE_TOKEN)
    chosen = choose_tunnel(tunnel_settings("ngrok", domain=f"https://{DOMAIN}/", port=5123))
    assert chosen == TunnelPlan("ngrok", "http://127.0.0.1:5123", DOMAIN)
    assert chosen.public_url == f"https://{DOMAIN}"


def test_a_named_cloudflare_tunnel_needs_its_token(tunnel_settings, monkeypatch):
    with pytest.raises(BadInput, match="set TUNNEL_TOKEN"):
        choose_tunnel(tunnel_settings("cloudflared"))
    monkeypatch.setenv("TUNNEL_TOKEN", "token")
    chosen = choose_tunnel(tunnel_settings("cloudflared"))
    assert cloudflared_command(chosen, "cloudflared") == [
        "cloudflared", "tunnel", "--no-autoupdate", "run",
    ]  # fmt: skip


def test_a_quick_tunnel_needs_its_hosts_allowed(tunnel_settings):
    with pytest.raises(BadInput, match=r"\*\.trycloudflare\.com"):
        choose_tunnel(tunnel_settings("cloudflared", domain=""))
    quick = tunnel_settings("cloudflared", "", allowed_hosts=["*.trycloudflare.com"])
    chosen = choose_tunnel(quick)
    assert cloudflared_command(chosen, "cloudflared")[-2:] == ["--url", chosen.local_url]
    line = "INF |  https://calm-river-1234.trycloudflare.com  |"
    assert quick_tunnel_url(line) == "https://calm-river-1234.trycloudflare.com"
    assert quick_tunnel_url("INF Starting tunnel") is None


def test_a_missing_cloudflared_is_one_line(tunnel_settings, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("TUNNEL_TOKEN", "token")
    with pytest.raises(BadInput, match="cloudflared is not installed"):
        open_cloudflared(choose_tunnel(tunnel_settings("cloudflared")))


@pytest.mark.skipif(
    importlib.util.find_spec("pyngrok") is not None,
    reason="pyngrok is installed: calling it would download the ngrok agent",
)
def test_without_pyngrok_ngrok_says_how_to_install_it():
    with pytest.raises(BadInput, match="uv sync --extra server"):
        open_ngrok(TunnelPlan("ngrok", "http://127.0.0.1:5000", DOMAIN))


# --- the command ------------------------------------------------------------------------------


def test_provider_none_publishes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLOPS_CONFIG", str(write_config(tmp_path, provider="none")))
    assert main(["tunnel"]) == 0
    assert "nothing is published" in capsys.readouterr().out


def test_no_local_server_stops_before_the_provider(tmp_path, monkeypatch, capsys):
    port = free_port()
    config = write_config(tmp_path, provider="ngrok", domain=DOMAIN, port=port)
    monkeypatch.setenv("MLOPS_CONFIG", str(config))
    monkeypatch.setenv("NGROK_AUTHTOKEN", FAKE_TOKEN)
    assert main(["tunnel"]) == 3
    assert f"no tracking server answers at http://127.0.0.1:{port}" in one_line_error(capsys)


def test_missing_secrets_are_bad_input(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLOPS_CONFIG", str(write_config(tmp_path, provider="ngrok")))
    monkeypatch.delenv("NGROK_AUTHTOKEN", raising=False)
    assert main(["tunnel"]) == 2
    assert "NGROK_AUTHTOKEN" in one_line_error(capsys)


# --- the checks from outside, provider-independent ----------------------------------------------


def test_a_protected_server_passes_the_checks(tracking_server):
    verify(tracking_server.url)


def test_an_unprotected_server_fails_the_checks(open_server):
    with pytest.raises(ServerUnavailable, match="without credentials with 200, not 401"):
        verify(open_server)


def test_a_dead_url_fails_the_checks():
    with pytest.raises(ServerUnavailable, match="does not answer"):
        verify(f"http://127.0.0.1:{free_port()}")


def test_a_host_the_server_does_not_allow_is_seen(tracking_server):
    assert not host_allowed(tracking_server.url, "evil.example.com")
    assert host_allowed(tracking_server.url, f"localhost:{tracking_server.options.port}")
