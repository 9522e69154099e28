"""A Cloudflare Access service token, from the environment, as the headers Access reads.

Access in front of the tunnel admits a request that carries a service token in two headers.
The token comes from `CF_ACCESS_CLIENT_ID` and `CF_ACCESS_CLIENT_SECRET` (Colab Secrets, the
runner's secrets, an exported variable) and is only ever sent encrypted: to an https URL, or to
this machine (127.0.0.1, localhost), never in clear over a network. MLflow's calls get the
headers from `access_headers`; `mlops tunnel` and `mlops doctor` add them to their own probes.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

ID_ENV = "CF_ACCESS_CLIENT_ID"
SECRET_ENV = "CF_ACCESS_CLIENT_SECRET"  # noqa: S105 (a variable name)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def encrypted_or_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK)


def headers_for(url: str) -> dict[str, str]:
    """The token's headers for a request to `url`, or none (no token, or not safe to send)."""
    token_id, secret = os.environ.get(ID_ENV), os.environ.get(SECRET_ENV)
    if not (token_id and secret and encrypted_or_local(url)):
        return {}
    return {"CF-Access-Client-Id": token_id, "CF-Access-Client-Secret": secret}
