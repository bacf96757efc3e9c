"""Throttling of failed logins, for the API's token endpoint and the web form alike.

Failures count per account and client address (10 in 15 minutes) and per client address
alone (100 in 15 minutes, against one machine trying many accounts). Past either, every login
from there is refused with 429 and the seconds to wait, the right password included, so that a
guesser learns nothing; a successful login clears its account's count. Keying the account
limit by address too means a stranger cannot lock a counsellor out from her own desk.

The counts live in this process (the `limits` package's memory storage): each API replica
counts for itself, and a restart forgets. Usernames are kept only here, never logged.
"""

import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

PER_ACCOUNT_AND_ADDRESS = parse("10 per 15 minutes")
PER_ADDRESS = parse("100 per 15 minutes")
TOO_MANY = (
    "Zu viele fehlgeschlagene Anmeldungen. Bitte in {minutes} Minuten erneut versuchen "
    "oder die Koordinierungsstelle bitten, das Passwort zurückzusetzen."
)


def too_many_message(retry_after: int) -> str:
    return TOO_MANY.format(minutes=max(1, -(-retry_after // 60)))


class LoginThrottle:
    """Thread-safe (the storage locks): the web form checks from a worker thread."""

    def __init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def retry_after(self, username: str, address: str) -> int | None:
        """Seconds until a login from `address` for `username` may be tried again; None when
        it may be tried now."""
        waits = [
            self._limiter.get_window_stats(item, *keys).reset_time - time.time()
            for item, keys in self._limits(username, address)
            if not self._limiter.test(item, *keys)
        ]
        return max(1, int(max(waits)) + 1) if waits else None

    def failed(self, username: str, address: str) -> None:
        for item, keys in self._limits(username, address):
            self._limiter.hit(item, *keys)

    def succeeded(self, username: str, address: str) -> None:
        self._limiter.clear(PER_ACCOUNT_AND_ADDRESS, *self._account_keys(username, address))

    def _limits(self, username: str, address: str) -> list[tuple[RateLimitItem, list[str]]]:
        return [
            (PER_ACCOUNT_AND_ADDRESS, self._account_keys(username, address)),
            (PER_ADDRESS, ["address", address]),
        ]

    @staticmethod
    def _account_keys(username: str, address: str) -> list[str]:
        # Usernames are matched without regard to case or surrounding blanks at login.
        return ["account", username.strip().casefold(), address]
