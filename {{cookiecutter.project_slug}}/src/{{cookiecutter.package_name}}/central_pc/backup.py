"""Backups of the server's sqlite DBs: consistent while the server runs, restorable in one command.

A file copy of a live sqlite DB (or Google Drive syncing it) can catch a half-written page;
sqlite's backup API copies a consistent snapshot while the server keeps writing. Each backup is
a folder `mlops-backup-YYYYmmdd-HHMMSS` (UTC) with `mlflow.db` (runs, models, aliases),
`auth.db` (users, password hashes, permissions) and a manifest; the last N are kept. The Flask
secret key and the admin password are not copied: keep the admin password in your password
manager. Artifacts live in `[server] artifacts_dir` and are not part of a backup.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import time
from contextlib import closing
from importlib.metadata import version
from pathlib import Path

import requests

from ..errors import BadInput, is_disk_full
from ..settings import Settings
from .lock import DataDirLock
from .tracking_server import AUTH_DB, BACKEND_DB, ServerPaths, admin_url, refuse_if_databases_open

DATABASES = (BACKEND_DB, AUTH_DB)
MANIFEST = "manifest.json"
PREFIX = "mlops-backup-"
NAME = re.compile(r"^mlops-backup-\d{8}-\d{6}(-\d+)?$")  # PREFIX, a UTC time, a counter
PARTIAL = re.compile(r"^\.mlops-backup-\d{8}-\d{6}(-\d+)?\.partial$")
"""A backup being written; one still there when the next backup starts was cut off (a killed
process, a power cut) and is removed, so leftovers never fill a Drive quota."""


def copy_database(source: Path, target: Path) -> None:
    """sqlite's online backup: a consistent snapshot even while the server writes."""
    try:
        _snapshot(source, target, read_only=True)
    except sqlite3.OperationalError as exc:
        if getattr(exc, "sqlite_errorname", "") != "SQLITE_READONLY_ROLLBACK":
            raise
        # A writer was killed mid-transaction and left a hot journal; only a read-write
        # connection may roll it back, exactly as the server does when it next opens the DB.
        target.unlink(missing_ok=True)
        _snapshot(source, target, read_only=False)
    check_database(target)


def _snapshot(source: Path, target: Path, *, read_only: bool) -> None:
    mode = "?mode=ro" if read_only else ""
    with (
        closing(sqlite3.connect(f"file:{source.as_posix()}{mode}", uri=True, timeout=30)) as src,
        closing(sqlite3.connect(target)) as copy,
    ):
        src.backup(copy)


def check_database(path: Path) -> None:
    try:
        with closing(sqlite3.connect(f"file:{path.as_posix()}?mode=ro", uri=True)) as db:
            verdict = db.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BadInput(f"{path} is not a readable sqlite database ({exc})") from None
    if verdict != "ok":
        raise BadInput(f"{path} is damaged: {verdict}")


def _new_folder(root: Path) -> Path:
    stamp = PREFIX + time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    name, n = stamp, 1
    while (root / name).exists():
        n += 1
        name = f"{stamp}-{n}"
    return root / name


def backup(
    settings: Settings, destination: Path | None = None, keep: int | None = None
) -> tuple[Path, list[Path]]:
    """Copy the DBs into a new folder of `destination`; (the new backup, the backups removed)."""
    paths = ServerPaths.from_settings(settings)
    root = Path(destination) if destination else settings.resolve(settings.server.backup_dir)
    keep = keep or settings.server.keep_backups
    if settings.server.backend_store_uri.startswith("postgresql"):
        raise BadInput(
            "the backend is PostgreSQL: back it up with pg_dump (this command copies sqlite DBs)"
        )
    if not paths.backend_db.is_file():
        raise BadInput(
            f"no database at {paths.backend_db}: nothing to back up ([server] data_dir?)"
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"cannot create {root}: {exc.strerror}") from None
    remove_leftovers(root)
    final = _new_folder(root)
    partial = root / f".{final.name}.partial"
    partial.mkdir(mode=0o700)
    try:
        for name in DATABASES:
            if (paths.data_dir / name).is_file():
                copy_database(paths.data_dir / name, partial / name)
        _write_manifest(partial)
        partial.rename(final)
    except BaseException as exc:
        shutil.rmtree(partial, ignore_errors=True)
        if is_disk_full(exc):
            raise BadInput(f"no space left in {root}: free space there or back up elsewhere "
                           "(--to)") from None  # fmt: skip
        raise
    return final, prune(root, keep)


def _write_manifest(folder: Path) -> None:
    manifest = {
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "mlflow_version": version("mlflow"),
        "files": sorted(p.name for p in folder.iterdir()),
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _age(folder: Path) -> tuple[str, int]:
    """Time first, then the counter of backups made in the same second (2 before 10)."""
    stamp = folder.name.removeprefix(PREFIX)
    counter = stamp[16:]  # after YYYYmmdd-HHMMSS
    return stamp[:15], int(counter) if counter else 1


def remove_leftovers(root: Path) -> list[Path]:
    """Delete the half-written backups of earlier runs (only folders this module named)."""
    leftovers = [p for p in root.iterdir() if p.is_dir() and PARTIAL.match(p.name)]
    for folder in leftovers:
        shutil.rmtree(folder, ignore_errors=True)
    return leftovers


def prune(root: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` backups; only folders this module named are touched."""
    backups = sorted((p for p in root.iterdir() if p.is_dir() and NAME.match(p.name)), key=_age)
    removed = backups[:-keep] if keep > 0 else []
    for folder in removed:
        shutil.rmtree(folder)
    return removed


# --- restore --------------------------------------------------------------------------------------


def server_answers(url: str) -> bool:
    try:
        return requests.get(f"{url}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def restore(settings: Settings, source: Path, data_dir: Path | None = None) -> str:
    """Put a backup's DBs into the data dir; the DBs they replace are kept beside them."""
    source = Path(source)
    if not (source / BACKEND_DB).is_file():
        raise BadInput(f"{source} is not a backup from `mlops server backup` (no mlflow.db)")
    paths = ServerPaths.from_settings(settings, data_dir)
    configured = ServerPaths.from_settings(settings).data_dir
    url = admin_url(settings)
    if paths.data_dir == configured and server_answers(url):
        raise BadInput(f"a server answers at {url}: stop it before restoring into {configured}")
    names = [name for name in DATABASES if (source / name).is_file()]
    for name in names:
        check_database(source / name)
    paths.data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(paths.data_dir, 0o700)
    with DataDirLock(paths.data_dir):
        refuse_if_databases_open(paths)  # an orphaned server holds them without the lock
        kept = swap_in(source, paths.data_dir, names)
    note = f"; the replaced DBs are kept as *{kept}" if kept else ""
    if not paths.admin_password_file.is_file():
        note += (
            "; before the first start set MLFLOW_AUTH_ADMIN_PASSWORD to the backed-up "
            "server's admin password"
        )
    return f"restored {', '.join(names)} from {source} into {paths.data_dir}{note}"


def swap_in(source: Path, data_dir: Path, names: list[str]) -> str:
    """Copy every DB next to its target first, then swap: a failed copy changes nothing."""
    incoming = {name: data_dir / f"{name}.restoring" for name in names}
    try:
        for name, temporary in incoming.items():
            temporary.unlink(missing_ok=True)
            copy_database(source / name, temporary)
    except BaseException:
        for temporary in incoming.values():
            temporary.unlink(missing_ok=True)
        raise
    suffix = f".before-restore-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
    kept = ""
    for name, temporary in incoming.items():
        current = data_dir / name
        if current.exists():
            settle(current)
            _keep_as(current, data_dir / f"{name}{suffix}")
            kept = suffix
        replace_database(temporary, current)
    return kept


def _keep_as(db: Path, kept: Path) -> None:
    """The same file under a second name (a hard link: instant, and `db` never goes missing),
    or a copy where the file system has no links. A restore cut off after keeping it left the
    link already (nothing to do); one finished in the same second keeps its own (a new name)."""
    for name in (kept, *(kept.with_name(f"{kept.name}-{n}") for n in range(1, 1000))):
        if name.exists():
            if os.path.samefile(db, name):
                return
            continue
        try:
            os.link(db, name)
        except FileExistsError:
            continue
        except OSError:
            shutil.copy2(db, name)
        return
    raise BadInput(f"{kept.parent} holds 1,000 kept databases from this second: clean it up")


def settle(db: Path) -> None:
    """Fold the database's journal or write-ahead log into it (a read rolls a hot journal back,
    a checkpoint empties the log), then remove the side files: the file alone is then whole."""
    with closing(sqlite3.connect(db)) as connection:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for side in ("-journal", "-wal", "-shm"):
        db.with_name(f"{db.name}{side}").unlink(missing_ok=True)


def replace_database(new: Path, target: Path) -> None:
    """`new` in place of `target` in one rename: killed at any point, `target` is the old
    database or the new one, whole. The old one's side files go first: left beside the new
    file, sqlite would replay them there."""
    if target.exists():
        settle(target)
    os.replace(new, target)
