"""The app `mlops serve` runs: the scoring app of whichever version holds `champion` now.

A swap is one assignment. A request reads the current model once, when it arrives, and keeps
it to its last byte: requests in flight finish on the old version, the next ones go to the new
one, and none is refused on the way. Every answer names the version that gave it
(`X-Model-Version`); `/model` says name, version and digest (MLflow's `/version` stays MLflow's).
With a token set, a request without `Authorization: Bearer <token>` gets 401 and nothing else.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .served_model import JSON, ServedModel

MODEL_ROUTE = "/model"
VERSION_HEADER = b"x-model-version"

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
Receive = Callable[[], Awaitable[Message]]


class FollowingApp:
    def __init__(self, served: ServedModel, token: str | None = None):
        self.served = served
        self._expected = f"Bearer {token}".encode() if token else None

    def swap(self, served: ServedModel) -> ServedModel:
        """Serve `served` from the next request on; the model that was serving."""
        previous, self.served = self.served, served
        return previous

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # uvicorn runs with lifespan off: nothing but HTTP arrives
        if not self._authorised(scope):
            await answer(send, 401, {"error": "send Authorization: Bearer <MLOPS_SERVE_TOKEN>"},
                         [(b"www-authenticate", b"Bearer")])  # fmt: skip
            return
        served = self.served  # read once: this request stays on this version
        version = [(VERSION_HEADER, served.version.encode())]
        if scope["path"] == MODEL_ROUTE:
            await answer(send, 200, served.describe(), version)
            return
        await served.app(scope, receive, with_headers(send, version))

    def _authorised(self, scope: Message) -> bool:
        if self._expected is None:
            return True
        sent = dict(scope["headers"]).get(b"authorization", b"")
        return hmac.compare_digest(sent, self._expected)


def with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return sending


async def answer(send: Send, status: int, body: dict, headers: list[tuple[bytes, bytes]]) -> None:
    content = json.dumps(body).encode()
    await send({
        "type": "http.response.start", "status": status,
        "headers": [(b"content-type", JSON.encode()),
                    (b"content-length", str(len(content)).encode()), *headers],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": content})
