"""What each running `mlops serve` is doing, in a small file per port that `mlops status` and
`mlops doctor` read: the version that answers, and the last version it refused and why.

The server writes it whole (a rename) at start and at every change, and removes it when it
stops; a file whose writer is gone (kill -9) is ignored and swept.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..process import alive

if TYPE_CHECKING:  # read by `mlops status` and `doctor`, which need no model loaded
    from .served_model import ServedModel

STATE_DIR = ".mlops/serving"


@dataclass
class ServeState:
    path: Path
    url: str
    name: str = ""
    version: str = ""
    digest: str = ""
    since: str = ""
    refused: str = ""
    pid: int = 0

    @classmethod
    def at(cls, folder: Path, url: str, port: int) -> ServeState:
        return cls(folder / f"serve-{port}.json", url, pid=os.getpid())

    def serving(self, served: ServedModel) -> None:
        self.name, self.version, self.digest = served.name, served.version, served.digest
        self.since, self.refused = _now(), ""
        self._write()

    def refusing(self, line: str) -> None:
        self.refused = line
        self._write()

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    def line(self) -> str:
        text = f"serve at {self.url}: version {self.version} of {self.name!r} since {self.since}"
        return f"{text}; {self.refused}" if self.refused else text

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fields = {key: value for key, value in asdict(self).items() if key != "path"}
        partial = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        partial.write_text(json.dumps(fields, indent=1), encoding="utf-8")
        partial.replace(self.path)


def running(folder: Path) -> list[ServeState]:
    """The state of each `mlops serve` still alive; the files of dead ones are swept."""
    found = []
    for path in sorted(folder.glob("serve-*.json")):
        try:
            state = ServeState(path, **json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            continue  # a file being replaced, or not ours
        if alive(state.pid):
            found.append(state)
        else:
            path.unlink(missing_ok=True)
    return found


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
