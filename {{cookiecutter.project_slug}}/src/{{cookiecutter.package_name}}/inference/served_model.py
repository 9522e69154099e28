"""One registered version made ready to answer requests: verified files in MLflow's scoring app.

The files come the way `predict` and `promote` get them (pinned digest, trusted types, skops);
the app is MLflow's own scoring server (`scoring_server.init`), so the request formats, their
parsing, the signature's enforcement and the error answers are MLflow's, not a copy. Before a
version may answer anyone, its logged serving example goes through that same parsing and
prediction: a version that cannot score its own example never serves.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow.entities.model_registry import ModelVersion
from mlflow.models import Model
from mlflow.pyfunc import PyFuncModel, scoring_server

from ..errors import BadInput, first_line
from ..tracking.model_files import fetch_verified

JSON = "application/json"


@dataclass(frozen=True)
class ServedModel:
    name: str
    version: str
    digest: str
    app: Any
    """MLflow's ASGI scoring app around this version alone."""
    example: str
    """The logged serving example: a request body this version answers."""

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "version": self.version, "digest": self.digest}


def load_served(name: str, version: ModelVersion, work_dir: Path) -> ServedModel:
    """Fetch, verify, load and smoke-test one version; `BadInput` if it may not serve."""
    what = f"version {version.version} of {name!r}"
    work_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"v{version.version}-", dir=work_dir) as folder:
        checked = fetch_verified(name, version, Path(folder))
        metadata = Model.load(str(checked.folder))
        example = metadata.get_serving_input(str(checked.folder))
        pipeline = checked.load()
    if example is None:
        raise BadInput(f"{what} has no serving example: train and register it again")
    model = PyFuncModel(model_meta=metadata, model_impl=pipeline)
    smoke_test(model, example, what)
    return ServedModel(name, str(version.version), checked.digest, scoring_server.init(model),
                       example)  # fmt: skip


def smoke_test(model: PyFuncModel, example: str, what: str) -> str:
    """The example through MLflow's own request path; the JSON answer, or `BadInput`."""
    schema = model.metadata.get_input_schema()
    try:
        answer = scoring_server.invocations(example, JSON, model, schema)
    except Exception as exc:  # any failure to score means this version must not serve
        raise BadInput(f"{what} cannot score its own serving example: {first_line(exc)}") from None
    if answer.status != 200:
        raise BadInput(f"{what} cannot score its own serving example: {answer.response[:200]}")
    return answer.response
