"""`mlops rollback`: champion <- previous-champion, by an approver only (like promote).

No alias is ever deleted (that would need MANAGE on the model, which the CI user does not
hold): after a rollback both aliases name the same version, and a second rollback finds nothing
to roll back to.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from mlflow import MlflowClient

from . import tracking
from .errors import BadInput
from .model_files import fetch_verified
from .provenance import who
from .registry import (
    CHAMPION,
    PREVIOUS,
    aliased_version,
    check_approvers,
    check_unmoved,
    expecting,
    move_alias,
    now_utc,
    require_alias,
)
from .report import write_step_summary
from .settings import Settings
from .tag_keys import ROLLED_BACK_AT_TAG, ROLLED_BACK_BY_TAG


def rollback(settings: Settings, dry_run: bool = False) -> str:
    """champion <- previous-champion; a second rollback cannot re-promote the version that was
    just rolled back, since champion then already is previous-champion."""
    check_approvers(settings, "roll back")
    with tracking.connected(settings) as uri:
        client = MlflowClient(tracking_uri=uri)
        name = settings.model.registered_name
        with tracking.server_errors(uri, "ci"):
            with tracking.first_contact():
                previous = require_alias(client, name, PREVIOUS, "nothing to roll back to")
            with tempfile.TemporaryDirectory(prefix="mlops-rollback-") as folder:
                fetch_verified(name, previous, Path(folder))
            current = aliased_version(client, name, CHAMPION)
            if current is not None and current.version == previous.version:
                raise BadInput(
                    f"{CHAMPION} already is {PREVIOUS} (version {previous.version}): "
                    "nothing to roll back to"
                )
            what = f"{CHAMPION} -> version {previous.version}" + (
                f" (was version {current.version})" if current else ""
            )
            if dry_run:
                return _summarised(f"would move {what}")
            expected = expecting({CHAMPION: current, PREVIOUS: previous})
            check_unmoved(client, name, expected)  # the record names the version it replaces
            if current is not None:
                client.set_model_version_tag(name, current.version, ROLLED_BACK_AT_TAG, now_utc())
                client.set_model_version_tag(name, current.version, ROLLED_BACK_BY_TAG, who())
            move_alias(client, name, CHAMPION, previous, expected)
        return _summarised(f"moved {what}")


def _summarised(outcome: str) -> str:
    write_step_summary(f"## Roll back\n\n{outcome}")
    return outcome
