"""`mlops rollback`: champion <- previous-champion, by an approver only (like promote)."""

from __future__ import annotations

from mlflow import MlflowClient

from . import tracking
from .provenance import who
from .registry import (
    CHAMPION,
    PREVIOUS,
    aliased_version,
    check_approvers,
    move_alias,
    now_utc,
    require_alias,
)
from .report import write_step_summary
from .settings import Settings
from .tag_keys import ROLLED_BACK_AT_TAG, ROLLED_BACK_BY_TAG


def rollback(settings: Settings, dry_run: bool = False) -> str:
    """champion <- previous-champion; the alias `previous-champion` is then removed, so a second
    rollback cannot silently re-promote the version that was just rolled back."""
    check_approvers(settings, "roll back")
    uri = tracking.connect(settings)
    client = MlflowClient()
    name = settings.model.registered_name
    with tracking.server_errors(uri):
        previous = require_alias(client, name, PREVIOUS, "nothing to roll back to")
        current = aliased_version(client, name, CHAMPION)
        what = f"{CHAMPION} -> version {previous.version}" + (
            f" (was version {current.version})" if current else ""
        )
        if dry_run:
            return _summarised(f"would move {what}")
        move_alias(client, name, CHAMPION, previous)
        client.delete_registered_model_alias(name, PREVIOUS)
        if current is not None:
            client.set_model_version_tag(name, current.version, ROLLED_BACK_AT_TAG, now_utc())
            client.set_model_version_tag(name, current.version, ROLLED_BACK_BY_TAG, who())
    return _summarised(f"moved {what}")


def _summarised(outcome: str) -> str:
    write_step_summary(f"## Roll back\n\n{outcome}")
    return outcome
