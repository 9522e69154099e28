"""Exceptions that carry their exit code, so `cli.py` maps every outcome in one place.

Raise the class that says *why* a command stopped; the message is the one line the user sees.
"""

import errno


def first_line(exc: BaseException) -> str:
    """A library's error message cut to its first line (or the exception's name when empty)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def printable(text: str) -> str:
    """Control characters (a newline, an escape sequence a user pasted) shown escaped, so a
    message that quotes user input stays one line and cannot repaint the terminal."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


DISK_FULL_MESSAGES = ("No space left on device", "database or disk is full", "Disk quota exceeded")


def is_disk_full(exc: BaseException) -> bool:
    """ENOSPC/EDQUOT from the OS, or sqlite's own words for it (it raises no OSError)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    return any(words in str(exc) for words in DISK_FULL_MESSAGES)


class MlopsError(Exception):
    """Base class: an expected stop with a one-line explanation."""

    exit_code = 4


class GateRefused(MlopsError):
    """A gate said no: an answer, not a crash (no candidate good enough, no improvement)."""

    exit_code = 1


class BadInput(MlopsError):
    """Bad input, configuration or registry state: the user must change something."""

    exit_code = 2


class ServerUnavailable(MlopsError):
    """The tracking server cannot be used: unreachable, timed out, 401 or 403."""

    exit_code = 3

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status
        """The HTTP status that said no (401, 403, 507), None when the server never answered."""
