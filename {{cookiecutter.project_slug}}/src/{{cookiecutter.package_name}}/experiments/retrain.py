"""`mlops train --like champion`: the champion's own configuration, trained on today's data.

A champion is a configuration that won; when the table grows, the first candidate worth
judging is that same configuration refitted on the new training part. Its parameters come from
the champion's run (logged as text, read back as Python literals), limited to the ones today's
estimator knows, so a run made with an older scikit-learn still applies; they win over
`[model.params]`, and `--set` wins over them.
"""

from __future__ import annotations

import ast

from mlflow import MlflowClient

from ..errors import BadInput
from ..ml.model import estimator_class
from ..settings import Settings
from ..tracking import connection
from ..tracking.model_registry import require_alias
from ..tracking.tag_keys import ESTIMATOR_TAG


def params_like(settings: Settings, alias: str) -> dict[str, object]:
    """Every parameter of the run behind `alias` that today's estimator knows; one that is at
    its default is passed as the default object itself (no text to read back)."""
    with connection.connected(settings) as uri:
        client = MlflowClient(tracking_uri=uri)
        name = settings.model.registered_name
        with connection.server_errors(uri, "member"):
            version = require_alias(client, name, alias, "promote a challenger first")
            run = client.get_run(version.run_id or "")
    estimator = run.data.tags.get(ESTIMATOR_TAG)
    if estimator != settings.model.estimator:
        raise BadInput(
            f"the {alias} (version {version.version}) is a {estimator}, but [model] estimator "
            f"is {settings.model.estimator}: train it with --set NAME=VALUE instead"
        )
    defaults = estimator_class(settings.model.estimator)().get_params(deep=False)
    return {
        key: defaults[key] if text == str(defaults[key]) else _value(text)
        for key, text in run.data.params.items()
        if key in defaults
    }


def _value(text: str) -> object:
    """`str(value)` read back: numbers, booleans, None, tuples; anything else stays text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
