"""An exclusive lock on the server's data dir, held for as long as a server (or a restore) uses it.

A pidfile can outlive its process and lie; an OS lock is released by the kernel when the holder
dies, however it dies. `restore` takes the same lock, so it can never overwrite the DBs under a
running server, and a second `server start` on the same data dir is refused.
"""

from __future__ import annotations

import os
from pathlib import Path

from filelock import FileLock, Timeout

from ..errors import BadInput

LOCK_FILE = "server.lock"


def in_use(data_dir: Path) -> BadInput:
    return BadInput(
        f"{data_dir} is in use by another server or restore: use the server already running "
        "there, or stop it first"
    )


class DataDirLock:
    """`with DataDirLock(data_dir):`, or `acquire()` / `release()` around a server.

    An OS lock (flock, or msvcrt on Windows, through `filelock`), never a lock file that only
    exists: the kernel releases it when the holder dies, however it dies.
    """

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir)
        self._lock = FileLock(
            self.data_dir / LOCK_FILE,
            timeout=0,
            mode=0o600,
            thread_local=False,
            fallback_to_soft=False,
            preserve_lock_file=True,  # deleting it could let two in
        )

    def acquire(self) -> DataDirLock:
        try:
            self._lock.acquire()
        except Timeout:
            raise in_use(self.data_dir) from None
        return self

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release()

    def __enter__(self) -> DataDirLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def is_locked(data_dir: Path) -> bool:
    """True while some process holds the data dir's lock (the file alone proves nothing)."""
    if not (Path(data_dir) / LOCK_FILE).exists():
        return False
    try:
        DataDirLock(data_dir).acquire().release()
    except BadInput:
        return True
    return False


def processes_using(files: list[Path]) -> list[int]:
    """Ids of the other processes that have any of `files` open, lock or no lock: an orphaned
    server holds its databases after the lock died with its parent (Linux's /proc; [] elsewhere).
    """
    targets = {str(Path(f).resolve()) for f in files if Path(f).exists()}
    proc = Path("/proc")
    if not targets or not (proc / "self" / "fd").is_dir():
        return []
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if any(os.readlink(fd) in targets for fd in (entry / "fd").iterdir()):
                found.append(int(entry.name))
        except OSError:  # gone meanwhile, or another user's
            continue
    return sorted(found)
