"""An exclusive lock on the server's data dir, held for as long as a server (or a restore) uses it.

A pidfile can outlive its process and lie; an OS lock is released by the kernel when the holder
dies, however it dies. `restore` takes the same lock, so it can never overwrite the DBs under a
running server, and a second `server start` on the same data dir is refused.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import BadInput

LOCK_FILE = "server.lock"


class DataDirLock:
    """`with DataDirLock(data_dir, "restore"):`, or `acquire()` / `release()` around a server."""

    def __init__(self, data_dir: Path, purpose: str = "a server"):
        self.path = Path(data_dir) / LOCK_FILE
        self.purpose = purpose
        self._fd: int | None = None

    def acquire(self) -> DataDirLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            _lock(fd)
        except OSError:
            os.close(fd)
            raise BadInput(
                f"{self.path.parent} is in use by another server or restore (stop it first)"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {self.purpose}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            _unlock(self._fd)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DataDirLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def is_locked(data_dir: Path) -> bool:
    """True while some process holds the data dir's lock (the file alone proves nothing)."""
    if not (Path(data_dir) / LOCK_FILE).exists():
        return False
    try:
        DataDirLock(data_dir, "probe").acquire().release()
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


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
