"""Failed logins back off, and a working client is never locked out by someone else's guesses.

A guessing attack is slowed three ways: per address, per user name, and per (name, address)
pair. The per-name wait is what stops many addresses guessing one password; applied to
everyone, it would also lock the real `ci` user out while the attack lasts. So a name's waits
apply only where that name has never logged in: from an address where the name succeeded since
the server started (and from the central PC itself, where the runner lives) only that pair's own
failures count. A password is never checked during a wait, so guessing costs the server nothing,
and an unknown name costs the same hash check as a known one, so timing tells no names.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mlflow.exceptions import MlflowException
from werkzeug.security import check_password_hash, generate_password_hash

MAX_WAIT_S = 300.0
FORGET_AFTER_S = 900.0
TRUST_FOR_S = 30 * 24 * 3600.0
LOCAL = ""  # a client on this PC itself (the runner, admin commands): no address back-off


@dataclass
class Backoff:
    """Failed logins per key (an address, a name, a pair): free ones, then doubling waits."""

    free: int
    clock: Callable[[], float] = time.monotonic
    _failures: dict[object, tuple[int, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_s(self, key: object) -> float:
        """Seconds before `key` may try again (0: now)."""
        with self._lock:
            count, last = self._failures.get(key, (0, 0.0))
        now = self.clock()
        if count < self.free or now - last > FORGET_AFTER_S:
            return 0.0
        return max(0.0, last + min(MAX_WAIT_S, 2.0 ** (count - self.free)) - now)

    def failed(self, key: object) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) > 10_000:  # many names tried: keep memory bounded
                self._failures = {
                    k: v for k, v in self._failures.items() if now - v[1] <= FORGET_AFTER_S
                }
            count, last = self._failures.get(key, (0, now))
            self._failures[key] = (1 if now - last > FORGET_AFTER_S else count + 1, now)

    def forget(self, key: object) -> None:
        with self._lock:
            self._failures.pop(key, None)


@dataclass
class KnownPlaces:
    """(name, address) pairs that logged in successfully: their own failures alone slow them."""

    clock: Callable[[], float] = time.monotonic
    _seen: dict[tuple[str, str], float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def knows(self, username: str, address: str) -> bool:
        if address == LOCAL:
            return True
        with self._lock:
            seen = self._seen.get((username, address))
        return seen is not None and self.clock() - seen <= TRUST_FOR_S

    def add(self, username: str, address: str) -> None:
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[(username, address)] = self.clock()


@dataclass
class VerifiedLogins:
    """Credentials that passed a password check lately: (user, HMAC of password) → (admin, when)."""

    ttl_s: float
    clock: Callable[[], float] = time.monotonic
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _seen: dict[tuple[str, bytes], tuple[bool, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _id(self, username: str, password: str) -> tuple[str, bytes]:
        return username, hmac.new(self._key, password.encode(), hashlib.sha256).digest()

    def get(self, username: str, password: str) -> bool | None:
        """Whether the user is an admin, if verified within the TTL; else None."""
        with self._lock:
            seen = self._seen.get(self._id(username, password))
        if seen is None or self.clock() - seen[1] > self.ttl_s:
            return None
        return seen[0]

    def put(self, username: str, password: str, is_admin: bool) -> None:
        with self._lock:
            if len(self._seen) > 1_000:
                self._seen.clear()
            self._seen[self._id(username, password)] = (is_admin, self.clock())


class PasswordCheck:
    """MLflow's user store, with an unknown name costing one hash check like a known one."""

    def __init__(self, store) -> None:
        self.store = store
        self.decoy = generate_password_hash(secrets.token_urlsafe(16))

    def __call__(self, username: str, password: str) -> bool | None:
        """Whether the user is an admin; None when the credentials are wrong."""
        if not self.store.has_user(username):
            check_password_hash(self.decoy, password)
            return None
        if not self.store.authenticate_user(username, password):
            return None
        try:
            return bool(self.store.get_user(username).is_admin)
        except MlflowException:  # deleted in between
            return None


class Throttled(Exception):
    """This name or address must wait before its next password check."""

    def __init__(self, wait_s: float) -> None:
        super().__init__(f"wait {wait_s:.1f} s")
        self.wait_s = wait_s


@dataclass
class Logins:
    """The login decision: whether the user is an admin, None for wrong credentials, or
    `Throttled` when this name or address must slow down first."""

    check: Callable[[str, str], bool | None]
    by_address: Backoff
    by_user: Backoff
    verified: VerifiedLogins
    by_pair: Backoff | None = None
    places: KnownPlaces = field(default_factory=KnownPlaces)

    def __post_init__(self) -> None:
        self.pairs = self.by_pair or Backoff(free=self.by_address.free, clock=self.by_address.clock)
        self.places.clock = self.by_address.clock

    def wait_s(self, username: str, address: str) -> float:
        pair = (username, address)
        known = self.places.knows(username, address)
        waits = [self.pairs.wait_s(pair) if known else self.by_user.wait_s(username)]
        if address != LOCAL:
            waits.append(self.by_address.wait_s(address))
        return max(waits)

    def login(self, username: str, password: str, address: str) -> bool | None:
        is_admin = self.verified.get(username, password)
        if is_admin is not None:
            return is_admin
        wait = self.wait_s(username, address)
        if wait > 0:
            raise Throttled(wait)
        is_admin = self.check(username, password)
        if is_admin is None:
            self._failed(username, address)
            return None
        self.pairs.forget((username, address))
        if not self.places.knows(username, address):
            self.by_user.forget(username)
        self.places.add(username, address)
        self.verified.put(username, password, is_admin)
        return is_admin

    def _failed(self, username: str, address: str) -> None:
        if address != LOCAL:
            self.by_address.failed(address)
        self.pairs.failed((username, address))
        if not self.places.knows(username, address):
            self.by_user.failed(username)


def client_address(peer: str, forwarded_for: str) -> str:
    """The tunnel agent connects from loopback and appends the real client to X-Forwarded-For;
    loopback without it is this PC itself, which the per-name back-off still covers."""
    if peer in ("127.0.0.1", "::1"):
        return forwarded_for.split(",")[-1].strip() if forwarded_for else LOCAL
    return peer
