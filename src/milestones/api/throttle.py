"""Throttling of failed client credentials, per client id and address (SPEC §2, auth hardening).

After ``max_failures`` failed attempts for one client id from one address within
``window`` seconds, that pair is locked out for ``lockout`` seconds: every attempt is
refused, the right secret included. Successful attempts neither count nor reset the count
(else a legitimate client sharing an address would keep wiping an attacker's failures).

State lives in this process's memory, for at most ``max_pairs`` pairs: only a failure adds
a pair, the least recently failed pair is dropped first, and pairs whose failures and
lockout are over are dropped as new failures arrive. Time is the app's :class:`Clock`, so
tests (and ``MILESTONES_NOW``) move it.

>>> from datetime import UTC, datetime
>>> throttle = LoginThrottle(Clock(datetime(2024, 1, 1, tzinfo=UTC)), max_failures=2)
>>> throttle.failed("client", "10.0.0.1"); throttle.failed("client", "10.0.0.1")
>>> try:
...     throttle.check("client", "10.0.0.1")
... except TooManyAttempts as refused:
...     print(refused.retry_after)
60
>>> throttle.check("client", "10.0.0.2")  # another address: nothing to refuse
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict

from milestones.clock import Clock
from milestones.domain.errors import TooManyAttempts

MAX_FAILURES = 10
WINDOW_SECONDS = 60.0
LOCKOUT_SECONDS = 60.0
# At most about 0.6 KB a pair, 9 failures kept (measured, docs/decisions.md): about 30 MB.
MAX_PAIRS = 50_000
# Stale pairs dropped per failure: enough to outpace the one a failure may add.
_PRUNE_PER_FAILURE = 2


class _Pair:
    """One pair's recent failure instants (epoch seconds, oldest first) and lockout end."""

    __slots__ = ("failures", "locked_until")

    def __init__(self) -> None:
        self.failures: list[float] = []
        self.locked_until = 0.0


class LoginThrottle:
    """Counts failed credentials per (client id, address) and locks out a pair that fails
    too often; thread-safe, bounded in memory."""

    def __init__(
        self,
        clock: Clock,
        *,
        max_failures: int = MAX_FAILURES,
        window: float = WINDOW_SECONDS,
        lockout: float = LOCKOUT_SECONDS,
        max_pairs: int = MAX_PAIRS,
    ) -> None:
        self._clock = clock
        self._max_failures = max_failures
        self._window = window
        self._lockout = lockout
        self._max_pairs = max_pairs
        self._pairs: OrderedDict[bytes, _Pair] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pairs)

    def check(self, client_id: str, address: str) -> None:
        """Refuse (:class:`TooManyAttempts`) a pair that is locked out; else do nothing."""
        key = _key(client_id, address)
        with self._lock:
            pair = self._pairs.get(key)
            locked_until = pair.locked_until if pair is not None else 0.0
        if not locked_until:
            return  # every authenticated request passes here: no clock read unless ever locked
        now = self._now()
        if locked_until > now:
            seconds = max(1, math.ceil(locked_until - now))
            raise TooManyAttempts(
                "Too many failed attempts for this client id from this address: "
                f"retry in {seconds} seconds",
                retry_after=seconds,
            )

    def failed(self, client_id: str, address: str) -> None:
        """Count one failed attempt; the one that makes ``max_failures`` in the window locks
        the pair out."""
        key = _key(client_id, address)
        now = self._now()
        with self._lock:
            pair = self._pairs.get(key)
            if pair is None:
                self._prune(now)
                pair = self._pairs[key] = _Pair()
            else:
                self._pairs.move_to_end(key)
            if pair.locked_until > now:
                return
            recent = [at for at in pair.failures if at > now - self._window]
            recent.append(now)
            if len(recent) >= self._max_failures:
                pair.locked_until = now + self._lockout
                recent = []
            pair.failures = recent

    def _prune(self, now: float) -> None:
        """Drop the oldest pairs that no longer matter, and the oldest at all above the cap."""
        for _ in range(_PRUNE_PER_FAILURE):
            if not self._pairs:
                return
            key, pair = next(iter(self._pairs.items()))
            over = not pair.failures or pair.failures[-1] <= now - self._window
            if not (over and pair.locked_until <= now):
                break
            del self._pairs[key]
        while len(self._pairs) >= self._max_pairs:
            self._pairs.popitem(last=False)

    def _now(self) -> float:
        return self._clock.now().timestamp()


def _key(client_id: str, address: str) -> bytes:
    """A fixed-size key, however long the client id an attacker sends."""
    text = f"{client_id}\x00{address}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(text, digest_size=16).digest()
