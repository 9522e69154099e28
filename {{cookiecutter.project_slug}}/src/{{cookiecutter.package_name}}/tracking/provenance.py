"""Where a run comes from: git commit, branch, who, where, and the lock file's hash.

These become run tags passed to `start_run`, so they cost no extra request.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import subprocess
from pathlib import Path

from .tag_keys import (
    DIRTY_TAG,
    GIT_BRANCH_TAG,
    GIT_COMMIT_TAG,
    KIND_TAG,
    USER_TAG,
    UV_LOCK_TAG,
    WHERE_TAG,
)


def where() -> str:
    """`colab`, `ci` or `local`: where the code runs."""
    if "COLAB_RELEASE_TAG" in os.environ or "COLAB_GPU" in os.environ:
        return "colab"
    if os.environ.get("GITHUB_ACTIONS") == "true" or os.environ.get("CI") == "true":
        return "ci"
    return "local"


def who() -> str:
    """The tracking login if there is one (true on Colab, where the OS user is `root`)."""
    return (
        os.environ.get("MLFLOW_TRACKING_USERNAME") or os.environ.get("GITHUB_ACTOR") or _os_user()
    )


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _git(root: Path, *args: str) -> str:
    try:
        result = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() or "unknown"


def lock_hash(root: Path) -> str:
    lock = root / "uv.lock"
    return hashlib.sha256(lock.read_bytes()).hexdigest() if lock.is_file() else "none"


def dirty(root: Path) -> str:
    """'true' when mlops.toml or src/ hold uncommitted changes (the run's commit does not say
    what made it), 'false' when clean, 'unknown' outside a git clone."""
    try:
        result = subprocess.run(
            ["git", "status", "--porcelain", "--", "mlops.toml", "src"],
            cwd=root, capture_output=True, text=True, timeout=10, check=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return "true" if result.stdout.strip() else "false"


def git_commit(root: Path) -> str:
    return os.environ.get("GITHUB_SHA") or _git(root, "rev-parse", "HEAD")


def workflow_run_url() -> str | None:
    """The GitHub Actions run that is executing this code, if any."""
    server, repo, run = (
        os.environ.get(name) for name in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    )
    return f"{server}/{repo}/actions/runs/{run}" if server and repo and run else None


def run_tags(root: Path, kind: str = "train") -> dict[str, str]:
    """Tags recorded on every run the project makes."""
    return {
        GIT_COMMIT_TAG: git_commit(root),
        DIRTY_TAG: dirty(root),
        GIT_BRANCH_TAG: os.environ.get("GITHUB_REF_NAME")
        or _git(root, "rev-parse", "--abbrev-ref", "HEAD"),
        USER_TAG: who(),
        WHERE_TAG: where(),
        UV_LOCK_TAG: lock_hash(root),
        KIND_TAG: kind,
    }
