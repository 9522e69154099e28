"""Model files this machine already verified, kept by digest so each model is downloaded once.

The runner downloads a model's files to register it, again to promote it, and again to roll
back to it; the central PC downloads the champion each time it serves it. Each download is a
request per file through the tunnel. The cache keeps a copy of files that matched their pinned
digest, in a folder named by that digest, shared by every project of the user.

The cache is only a source of bytes, never trusted: `model_files.fetch_verified` copies an
entry into the caller's own folder and checks that copy against the digest pinned on the
registry before it is parsed, exactly as it checks a download. A changed entry is forgotten
and the files are downloaded again. `$MLOPS_MODEL_CACHE` moves it; set it to `off` to
download every time. Deleting the folder is always safe.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..process import alive
from ..variables import MODEL_CACHE_ENV

INCOMING = ".incoming-"
"""Files being kept, in `.incoming-<pid>-<random>`: renamed into place whole, or swept once
their writer is gone (killed while copying)."""
KEEP = 20
"""Entries kept, most recently used first: a few weeks of challengers for a small team."""


def root() -> Path | None:
    """`$MLOPS_MODEL_CACHE`, else the user's cache folder; None when switched off."""
    chosen = os.environ.get(MODEL_CACHE_ENV, "")
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mlops-models"


def copy(pinned: str, folder: Path, matches: Callable[[Path], bool]) -> Path | None:
    """The entry for `pinned`, copied into `folder` if the copy `matches` (the caller's digest
    check, on the bytes it will load). Otherwise None and `folder` is left empty, for the
    download; an entry that did not match is forgotten."""
    base = root()
    entry = base / pinned if base else None
    if entry is None or not entry.is_dir():
        return None
    try:
        shutil.copytree(entry, folder, dirs_exist_ok=True)
        if matches(folder):
            os.utime(entry)  # most recently used: the last to go
            return folder
        forget(pinned)
    except OSError:
        pass  # cut short (an eviction, a full disk): only a download is lost
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    return None


def keep(folder: Path, pinned: str) -> None:
    """Keep verified files under their digest. A cache that cannot be written (full disk, a
    read-only home, another process keeping the same files first) is skipped: it only saves
    a download."""
    base = root()
    if base is None:
        return
    staging = None
    try:
        base.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f"{INCOMING}{os.getpid()}-", dir=base))
        shutil.copytree(folder, staging, dirs_exist_ok=True)
        forget(pinned)
        staging.rename(base / pinned)  # whole or absent: no reader sees half an entry
        staging = None
        _evict(base)
    except OSError:
        pass
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def forget(pinned: str) -> None:
    """Drop the entry for `pinned` (it no longer matches its digest, or is about to be replaced)."""
    base = root()
    if base is not None:
        shutil.rmtree(base / pinned, ignore_errors=True)


def _evict(base: Path) -> None:
    for incoming in base.glob(f"{INCOMING}*"):
        pid = incoming.name.removeprefix(INCOMING).split("-", 1)[0]
        if not pid.isdigit() or not alive(int(pid)):
            shutil.rmtree(incoming, ignore_errors=True)
    entries = [p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")]
    entries.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in entries[KEEP:]:
        shutil.rmtree(stale, ignore_errors=True)
