"""Who may move `champion`, and the time a move is recorded at."""

from __future__ import annotations

import os
import time

from ..errors import BadInput
from ..settings import Settings


def check_approvers(settings: Settings, verb: str) -> None:
    """In GitHub Actions, only the logins in `[promotion] approvers` (as they stand on main)
    may move `champion`, by `promote` or `rollback` alike. Outside Actions the server's own
    permissions decide."""
    approvers = settings.promotion.approvers
    if not approvers or os.environ.get("GITHUB_ACTIONS") != "true":
        return
    actor = os.environ.get("GITHUB_TRIGGERING_ACTOR") or os.environ.get("GITHUB_ACTOR", "")
    if actor not in approvers:
        raise BadInput(
            f"{actor or 'this actor'} is not in [promotion] approvers and may not {verb}; "
            "nothing moved"
        )


def now_utc() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
