"""A following app served for real (uvicorn on a free 127.0.0.1 port) in a thread of the test."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import requests
import uvicorn

from {{ cookiecutter.package_name }}.process import free_port


@contextmanager
def running_app(app) -> Iterator[str]:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def post_rows(url: str, rows: pd.DataFrame) -> requests.Response:
    """Raw rows as a client sends them: MLflow's `dataframe_split`, gaps as JSON null."""
    plain = rows.astype(object).where(rows.notna(), None)
    body = {"dataframe_split": plain.to_dict(orient="split")}
    return requests.post(f"{url}/invocations", json=body, timeout=60)
