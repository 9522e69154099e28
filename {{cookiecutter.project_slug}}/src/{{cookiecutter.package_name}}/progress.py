"""What a slow command is doing while it does it, so 10-60 s of loading never look like a hang.

On a terminal (stderr is a TTY) a status line with a spinner and the seconds elapsed is redrawn
in place and erased when the step ends, so the command's own output and its one-line error are
all that stays. With `MLOPS_PROGRESS=lines` (the registry workflows set it, for readable CI
logs) each step is one plain line on stderr. Anywhere else (pipes, scripts, tests) nothing is
printed: stderr keeps its one line per failure.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from .variables import PROGRESS_ENV

FRAMES = "|/-\\"
ERASE = "\r\033[2K"


def mode(stream: TextIO) -> str:
    """`lines`, `status` (a terminal) or `off`."""
    chosen = os.environ.get(PROGRESS_ENV, "").lower()
    if chosen in ("lines", "off"):
        return chosen
    return "status" if stream.isatty() else "off"


@contextmanager
def step(what: str, stream: TextIO | None = None) -> Iterator[None]:
    """Show `what` for as long as the block runs."""
    out = stream or sys.stderr
    shown = mode(out)
    if shown == "lines":
        print(f"mlops: {what}...", file=out, flush=True)
    if shown != "status":
        yield
        return
    done = threading.Event()
    spinner = threading.Thread(target=_spin, args=(what, out, done), daemon=True)
    spinner.start()
    try:
        yield
    finally:
        done.set()
        spinner.join()
        out.write(ERASE)
        out.flush()


def _spin(what: str, out: TextIO, done: threading.Event) -> None:
    started = time.monotonic()
    frame = 0
    while True:
        elapsed = time.monotonic() - started
        out.write(f"{ERASE}{FRAMES[frame % len(FRAMES)]} {what} ({elapsed:.0f} s)")
        out.flush()
        frame += 1
        if done.wait(0.25):
            return


@contextmanager
def counter(what: str, stream: TextIO | None = None) -> Iterator[Callable[[str], None]]:
    """A status that changes as the work goes (`predict: 150,000 rows, 52,000 rows/s`): yields
    the function that shows the newest one. Redrawn in place on a terminal, a plain line each
    under `MLOPS_PROGRESS=lines`, nothing elsewhere."""
    out = stream or sys.stderr
    shown = mode(out)

    def show(text: str) -> None:
        if shown == "lines":
            print(f"mlops: {what}: {text}", file=out, flush=True)
        elif shown == "status":
            out.write(f"{ERASE}{what}: {text}")
            out.flush()

    try:
        yield show
    finally:
        if shown == "status":
            out.write(ERASE)
            out.flush()
