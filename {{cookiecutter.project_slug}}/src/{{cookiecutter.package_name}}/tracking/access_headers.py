"""Cloudflare Access service-token headers on MLflow's own requests, for a tunnel behind Access.

Cloudflare Access in front of the tunnel is a second lock: a request needs an Access identity
before it reaches the server's own login. People get one by signing in with a browser; MLflow
clients (Colab, laptops, the runner) present a service token instead (`access_token`). MLflow
adds headers through request-header provider plugins: the entry point
`mlflow.request_header_provider` in pyproject.toml names this class, so every MLflow call of
every `mlops` verb and notebook cell carries the token. Inert unless the token is set.
"""

from __future__ import annotations

import mlflow
from mlflow.tracking.request_header.abstract_request_header_provider import (
    RequestHeaderProvider,
)

from .access_token import headers_for


class AccessServiceToken(RequestHeaderProvider):
    def in_context(self) -> bool:
        return bool(headers_for(mlflow.get_tracking_uri()))

    def request_headers(self) -> dict[str, str]:
        return headers_for(mlflow.get_tracking_uri())
