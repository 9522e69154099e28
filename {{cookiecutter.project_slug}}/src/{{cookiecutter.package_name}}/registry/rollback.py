"""`mlops rollback`: champion <- previous-champion, by an approver only (like promote).

No alias is ever deleted (that would need MANAGE on the model, which the CI user does not
hold): after a rollback both aliases name the same version, and a second rollback finds nothing
to roll back to.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..errors import BadInput
from ..report import write_step_summary
from ..settings import Settings
from ..tracking.model_files import fetch_verified
from ..tracking.model_registry import CHAMPION, PREVIOUS, expecting
from ..tracking.provenance import who
from ..tracking.tag_keys import ROLLED_BACK_AT_TAG, ROLLED_BACK_BY_TAG
from .approvers import check_approvers, now_utc
from .session import open_registry


def rollback(settings: Settings, dry_run: bool = False) -> str:
    """champion <- previous-champion; a second rollback cannot re-promote the version that was
    just rolled back, since champion then already is previous-champion."""
    check_approvers(settings, "roll back")
    with open_registry(settings, "ci") as registry:
        previous = registry.require(PREVIOUS, "nothing to roll back to")
        with tempfile.TemporaryDirectory(prefix="mlops-rollback-") as folder:
            fetch_verified(registry.name, previous, Path(folder))
        current = registry.version(CHAMPION)
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
        registry.check_unmoved(expected)  # the record names the version it replaces
        if current is not None:
            for key, value in ((ROLLED_BACK_AT_TAG, now_utc()), (ROLLED_BACK_BY_TAG, who())):
                registry.client.set_model_version_tag(registry.name, current.version, key, value)
        registry.move(CHAMPION, previous, expected)
    return _summarised(f"moved {what}")


def _summarised(outcome: str) -> str:
    write_step_summary(f"## Roll back\n\n{outcome}")
    return outcome
