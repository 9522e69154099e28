"""Long-lived child processes: the tracking server, the model server and the tunnel.

Each child starts in a session of its own, so stopping it stops every process it started
(MLflow's uvicorn workers, the scoring server's workers). Readiness is waited for while the
child lives; held in the foreground, Ctrl-C and SIGTERM (systemd, NSSM, `kill`) stop it the
same clean way, and a child that dies on its own is reported as an error.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import requests

from .errors import BadInput, ServerUnavailable

POLL_S = 0.3
PROGRESS_EVERY_S = 15
# Recognised in a host setting (never bound here): the whole machine, reached on 127.0.0.1
ALL_INTERFACES = ("0.0.0.0", "::", "")  # noqa: S104
STOP_GRACE_S = 20
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def dies_with_parent() -> None:
    """A `preexec_fn` for a child that must not outlive the command that started it, however
    that command ends (kill -9 included): the kernel kills it (Linux)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def alive(pid: int) -> bool:
    """Whether a process with this pid runs (the writer of a half-written folder, say)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: not ours to judge
    return True


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1" if host in ALL_INTERFACES else host, port)) == 0


def refuse_busy_port(host: str, port: int, what: str) -> None:
    if port_in_use(host, port):
        raise BadInput(f"port {port} is already in use: choose another for {what} (--port)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_ready(
    url: str,
    process: subprocess.Popen,
    what: str,
    timeout: float,
    log_file: Path | None = None,
    progress: Callable[[str], None] | None = None,
    timeout_hint: str = "",
) -> None:
    """Until `url` answers 200, or the process dies, or the time is up (then one clear line).

    A first start on a busy PC compiles MLflow's imports and migrates the database: `progress`
    hears every 15 s that the process still lives, so nobody kills a start that is working."""
    where = f" (see {log_file})" if log_file else ""
    started = time.monotonic()
    deadline, next_note = started + timeout, started + PROGRESS_EVERY_S
    while time.monotonic() < deadline:
        if progress and time.monotonic() >= next_note:
            progress(f"  {what} is still starting ({time.monotonic() - started:.0f} s) ...")
            next_note += PROGRESS_EVERY_S
        if process.poll() is not None:
            raise ServerUnavailable(f"{what} exited with code {process.returncode}{where}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(POLL_S)
    raise ServerUnavailable(f"{what} did not answer {url} in {timeout:.0f} s{where}{timeout_hint}")


def terminate_tree(process: subprocess.Popen) -> None:
    """Stop the child's whole session: SIGTERM, then SIGKILL if it lingers."""
    if os.name == "nt":  # pragma: no cover - Windows has no process groups to signal
        subprocess.run(["taskkill", "/T", "/F", "/PID", str(process.pid)], capture_output=True)
        process.wait()
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@dataclass
class ChildProcess:
    """One managed child: started in its own session, ready when `ready_url` answers."""

    args: list[str]
    env: dict[str, str]
    what: str
    log_file: Path | None = None
    timeout_hint: str = ""  # how to give it longer, said when the time is up
    process: subprocess.Popen | None = None

    def start(
        self, ready_url: str, timeout: float, progress: Callable[[str], None] | None = None
    ) -> subprocess.Popen:
        output = _private_log(self.log_file) if self.log_file else None
        try:
            self.process = subprocess.Popen(
                self.args, env=self.env, stdout=output,
                stderr=subprocess.STDOUT if output else None, start_new_session=True,
            )  # fmt: skip
        finally:
            if output is not None:
                output.close()  # the child holds its own copy
        try:
            wait_ready(
                ready_url, self.process, self.what, timeout, self.log_file, progress,
                self.timeout_hint,
            )  # fmt: skip
        except BaseException:
            self.stop()
            raise
        return self.process

    def running(self) -> subprocess.Popen:
        """The started process, for a foreground wait."""
        if self.process is None:
            raise ServerUnavailable(f"{self.what} was never started")
        return self.process

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            terminate_tree(self.process)


ServerT = TypeVar("ServerT", bound="RunsAChild")


class RunsAChild:
    """What a server object that runs one `ChildProcess` shares: its process, the process a
    foreground wait holds on to, and stopping it when a `with` block ends."""

    child: ChildProcess | None

    @property
    def process(self) -> subprocess.Popen | None:
        return self.child.process if self.child else None

    def running(self) -> subprocess.Popen:
        if self.child is None:
            raise ServerUnavailable("the server was never started")
        return self.child.running()

    def stop(self) -> None:
        if self.child is not None:
            self.child.stop()

    def __enter__(self: ServerT) -> ServerT:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Terminated(Exception):
    """SIGTERM (systemd, NSSM, kill): stop as cleanly as on Ctrl-C."""


@contextmanager
def sigterm_raises() -> Iterator[None]:
    def handler(_signum, _frame):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the cleanup
        raise Terminated

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def stop_uninterrupted(stop: Callable[[], None]) -> None:
    """A second Ctrl-C while the children shut down must not leave them running."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        stop()
    finally:
        signal.signal(signal.SIGINT, previous)


def hold_in_foreground(
    start: Callable[[], subprocess.Popen],
    stop: Callable[[], None],
    what: str,
    echo: Callable[[str], None],
) -> None:
    """Start a long-lived process and wait on it: Ctrl-C or SIGTERM stop it cleanly and
    return; the process dying on its own is a server error."""
    with sigterm_raises():
        try:
            code = start().wait()
        except (KeyboardInterrupt, Terminated):
            echo(f"Stopping {what} ...")
            return
        finally:
            stop_uninterrupted(stop)
    raise ServerUnavailable(f"{what} exited with code {code}")


def _private_log(path: Path):
    """A log may name users, paths and errors: created 0600, and tightened if it was not."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "ab")
