"""What holds logins back, so that guessing passwords or a rush of logins cannot take the
service down: for the API's token endpoint and the web form alike (`LoginThrottle.check`).

Failures count per account and client address (10 in 15 minutes) and per client address
alone (100 in 15 minutes, against one machine trying many accounts). Past either, every login
from there is refused with 429 and the seconds to wait, the right password included, so that a
guesser learns nothing; a successful login clears its account's count. Keying the account
limit by address too means a stranger cannot lock a counsellor out from her own desk.
An attempt takes its place in both counts before its password is checked and gives it back
when the password was right: a burst of parallel guesses is counted as it arrives, so the
eleventh is refused although none of the ten before it has failed yet.

Checking a password costs argon2's 64 MiB and up to a second of CPU. At most `concurrency`
checks run at once in one process; a login beyond that gets 503 with Retry-After at once,
rather than waiting in (and filling) the threadpool every other request needs too.

Addresses: an IPv6 address counts by its /64, the prefix one customer or host gets, within
which an attacker can pick a new address per attempt. The counts live in this process (the
`limits` package's memory storage): each API replica counts for itself, and a restart
forgets. Usernames are kept only here, never logged.
"""

import ipaddress
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

from fastapi.concurrency import run_in_threadpool
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

PER_ACCOUNT_AND_ADDRESS = parse("10 per 15 minutes")
PER_ADDRESS = parse("100 per 15 minutes")
TOO_MANY = (
    "Zu viele fehlgeschlagene Anmeldungen. Bitte in {minutes} Minuten erneut versuchen "
    "oder die Koordinierungsstelle bitten, das Passwort zurückzusetzen."
)
BUSY = (
    "Gerade melden sich sehr viele Personen gleichzeitig an. Bitte in wenigen Sekunden "
    "erneut versuchen."
)
# A password check takes up to a second: by then a place is free again.
BUSY_RETRY_AFTER = 2
DEFAULT_CONCURRENCY = 4

T = TypeVar("T")
Keys = tuple[str, ...]


class LoginRefused(Exception):
    """A login not even tried: too many failures (429) or too many checks at once (503)."""

    def __init__(self, status_code: int, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def too_many_message(retry_after: int) -> str:
    return TOO_MANY.format(minutes=max(1, -(-retry_after // 60)))


def address_key(address: str) -> str:
    """What an address counts as: IPv6 by its /64, an IPv4-mapped one as IPv4, anything that
    is not an address (a test client's name) as it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class LoginThrottle:
    """Thread-safe: counts change under one lock, the checks' bound is a semaphore."""

    def __init__(self, concurrency: int = DEFAULT_CONCURRENCY) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._lock = threading.Lock()
        # Attempts whose password is being checked, per count: taken before the check.
        self._pending: Counter[Keys] = Counter()
        self._checks = threading.BoundedSemaphore(concurrency)

    async def check(self, username: str, address: str, verify: Callable[[], T | None]) -> T | None:
        """The account `verify` finds (run in a worker thread), or None: a failure, counted.
        `LoginRefused` when the address is throttled or all checks are busy."""
        limits = self._limits(username, address)
        self._reserve(limits)
        if not self._checks.acquire(blocking=False):
            self._settle(limits, failed=False)
            raise LoginRefused(503, BUSY, BUSY_RETRY_AFTER)
        failed = False
        try:
            # The await returns only once the thread has finished (anyio shields a started
            # call from cancellation), so the place is given back after the check, not before.
            result = await run_in_threadpool(verify)
            failed = result is None
        finally:
            self._checks.release()
            self._settle(limits, failed)
        if not failed:
            self.succeeded(username, address)
        return result

    def retry_after(self, username: str, address: str) -> int | None:
        """Seconds until a login from `address` for `username` may be tried again; None when
        it may be tried now."""
        with self._lock:
            return self._wait(self._limits(username, address))

    def failed(self, username: str, address: str) -> None:
        with self._lock:
            for item, keys in self._limits(username, address):
                self._limiter.hit(item, *keys)

    def succeeded(self, username: str, address: str) -> None:
        self._limiter.clear(PER_ACCOUNT_AND_ADDRESS, *self._account_keys(username, address))

    def _reserve(self, limits: list[tuple[RateLimitItem, Keys]]) -> None:
        with self._lock:
            wait = self._wait(limits)
            if wait is not None:
                raise LoginRefused(429, too_many_message(wait), wait)
            for _, keys in limits:
                self._pending[keys] += 1

    def _settle(self, limits: list[tuple[RateLimitItem, Keys]], failed: bool) -> None:
        with self._lock:
            for item, keys in limits:
                self._pending[keys] -= 1
                if self._pending[keys] <= 0:
                    del self._pending[keys]
                if failed:
                    self._limiter.hit(item, *keys)

    def _wait(self, limits: list[tuple[RateLimitItem, Keys]]) -> int | None:
        waits = []
        for item, keys in limits:
            stats = self._limiter.get_window_stats(item, *keys)
            if stats.remaining - self._pending[keys] <= 0:
                # Full by pending attempts alone, the window's end is still the honest answer:
                # they are most likely guesses that will fail.
                waits.append(stats.reset_time - time.time())
        return max(1, int(max(waits)) + 1) if waits else None

    def _limits(self, username: str, address: str) -> list[tuple[RateLimitItem, Keys]]:
        return [
            (PER_ACCOUNT_AND_ADDRESS, self._account_keys(username, address)),
            (PER_ADDRESS, ("address", address_key(address))),
        ]

    @staticmethod
    def _account_keys(username: str, address: str) -> Keys:
        # Usernames are matched without regard to case or surrounding blanks at login.
        return ("account", username.strip().casefold(), address_key(address))
