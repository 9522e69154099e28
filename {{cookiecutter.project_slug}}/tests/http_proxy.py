"""A tiny HTTP proxy on 127.0.0.1 in front of the real test server: a tunnel that can fail.

`fail(method, path, number)` decides, per request, whether the "tunnel" fails it, and `how`:

- "502": answers 502 Bad Gateway (what ngrok and Cloudflare answer when the PC is gone);
- "drop": closes the connection without a word, nothing forwarded;
- "stall": holds the connection and never answers, nothing forwarded (the client's timeout ends it);
- "lost-answer": forwards the request, so the server acts on it, then drops the connection before
  the answer gets back (the worst case: done, but the client cannot know).

`delay` seconds are added to every request, as a round trip through the tunnel from Colab
would; `total` counts the requests that crossed (the template's request benchmark uses both).
`require` headers make it a Cloudflare Access stand-in: a request without them is answered
403 and never forwarded.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}
Rule = Callable[[str, str, int], bool]


class Proxy:
    def __init__(
        self,
        upstream: str,
        fail: Rule = lambda method, path, number: False,
        how: str = "502",
        delay: float = 0.0,
        require: dict[str, str] | None = None,
    ):
        assert how in ("502", "drop", "stall", "lost-answer"), how
        self.how, self.delay, self.require = how, delay, require or {}
        self.closing = threading.Event()
        target = urlsplit(upstream)
        self.upstream = (target.hostname or "127.0.0.1", target.port or 80)
        self.fail = fail
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> Proxy:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.closing.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def total(self) -> int:
        with self._lock:
            return len(self.requests)

    def count(self, method: str, path: str) -> int:
        """Record the request; its number, from 1."""
        with self._lock:
            self.requests.append((method, path))
            return len(self.requests)


def _handler(proxy: Proxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            failing = proxy.fail(self.command, self.path, proxy.count(self.command, self.path))
            if any(self.headers.get(k) != v for k, v in proxy.require.items()):
                return self._answer(403, [], b"Forbidden: no valid Access service token")
            time.sleep(proxy.delay)
            if failing and proxy.how == "502":
                return self._answer(502, [], b"bad gateway: the tunnel is down")
            if failing and proxy.how in ("drop", "stall"):
                if proxy.how == "stall":
                    proxy.closing.wait(120)
                return self._hang_up()
            connection = http.client.HTTPConnection(*proxy.upstream, timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            connection.request(self.command, self.path, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            connection.close()
            if failing:  # lost-answer: the server acted, the client never hears of it
                return self._hang_up()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
            self._answer(response.status, kept, payload)

        def _hang_up(self) -> None:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

        def _answer(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
            self.send_response(status)
            for key, value in headers:
                if key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _relay

    return Handler


def alias_moves(method: str, path: str, number: int) -> bool:
    """A `fail` rule: the tunnel fails exactly the requests that move an alias."""
    return path.endswith("/registered-models/alias")
