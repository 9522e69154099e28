"""`mlops serve` follows `champion`: read the alias every `poll_seconds`, and when it moved,
load the new version beside the serving one and swap.

Nothing the watch meets stops the serving: an unreachable server, a version whose files changed
since registration, one that fails to load or to score its own example, each is one line in the
log and in the serve state (`mlops status`, `mlops doctor`), and the old version keeps answering.
A refused version is not tried again until the alias moves on; a failed read is retried at the
next poll.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ..errors import MlopsError, first_line
from ..tracking.connection import translate
from ..tracking.model_registry import CHAMPION, aliased_version
from .following_app import FollowingApp
from .serve_state import ServeState
from .served_model import load_served


@dataclass
class ChampionWatch:
    app: FollowingApp
    client: MlflowClient
    uri: str
    state: ServeState
    work_dir: Path
    log: Callable[[str], None]
    refused: str | None = None
    """The version last refused: not loaded again while the alias stays on it."""
    unreachable: bool = False

    def check(self) -> None:
        """One poll: read the alias, and swap if it names another loadable version."""
        name, serving = self.app.served.name, self.app.served.version
        try:
            version = aliased_version(self.client, name, CHAMPION)
        except (MlflowException, requests.RequestException) as exc:
            self._cannot_read(exc)
            return
        self._reached()
        if version is None or str(version.version) in (serving, self.refused):
            return
        try:
            served = load_served(name, version, self.work_dir)
        except (MlflowException, requests.RequestException) as exc:
            self._cannot_read(exc)  # the download failed: the next poll tries again
            return
        except Exception as exc:  # a bad version never stops the serving one
            self._refuse(str(version.version), exc)
            return
        self.app.swap(served)
        self.refused = None
        self.state.serving(served)
        self.log(f"champion moved: now serving version {served.version} (was {serving}), "
                 "files verified")  # fmt: skip

    def run(self, stopped: threading.Event, poll_seconds: float) -> None:
        while not stopped.wait(poll_seconds):
            self.check()

    def _refuse(self, version: str, exc: Exception) -> None:
        reason = str(exc) if isinstance(exc, MlopsError) else first_line(exc)
        self.refused = version
        line = (f"champion moved to version {version}, refused: {reason}; "
                f"still serving version {self.app.served.version}")  # fmt: skip
        self.state.refusing(line)
        self.log(line)

    def _cannot_read(self, exc: Exception) -> None:
        if not self.unreachable:  # one line when it starts, not one per poll
            self.log(f"cannot check champion: {first_line(translate(exc, self.uri, 'reader'))}; "
                     f"still serving version {self.app.served.version}")  # fmt: skip
        self.unreachable = True

    def _reached(self) -> None:
        if self.unreachable:
            self.log("the tracking server answers again: following champion")
        self.unreachable = False
