"""The one thing erasure needs of the per-case key store: destroy a case's data key.

Erasure (GDPR Art. 17) is crypto-shredding: once a case's data key is gone, its history and
its referrals' histories in Temporal can no longer be decoded anywhere. The key store and its
codec are built apart (issue 15, items 1-2); erasure depends only on this Protocol, which the
key store satisfies with its `destroy(case_id)`.

Until a key store is wired, `NoCaseKeys` stands in: payloads are not encrypted yet, so there
is no key to destroy, and it says so (`shreds_keys`), which the erasure's answer reports.
Where the API wires it: `api.main.case_key_shredder`.
"""

from typing import Protocol


class CaseKeyShredder(Protocol):
    def destroy(self, case_id: str) -> None:
        """Delete the case's data key for good. Idempotent: a case without a key (never
        had one, or destroyed before) is no error."""


class NoCaseKeys:
    """No per-case keys exist (payloads are stored unencrypted): nothing to destroy."""

    shreds_keys = False

    def destroy(self, case_id: str) -> None:
        return None
