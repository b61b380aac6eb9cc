"""A test hook: end the process at a named point, to test what a crash there leaves behind.

Set `ERP_FAILPOINT` to one point's name and core exits (status `EXIT_STATUS`, no clean-up, as
`kill -9` would) the first time it gets there. Unset, as it always is outside the crash tests
(`tests/security/test_idempotency_crash.py`), it does nothing. Points:

- `idempotency.before_commit`: a keyed POST has done its work and recorded its answer, and its
  transaction is not committed yet.
- `idempotency.after_commit`: that transaction is committed, and the answer not yet sent.
"""

from __future__ import annotations

import os

from common import settings as env

ENV = env.FAILPOINT.name
EXIT_STATUS = 86
BEFORE_COMMIT = "idempotency.before_commit"
AFTER_COMMIT = "idempotency.after_commit"


def failpoint(name: str) -> None:
    """Exit the process at once if `ERP_FAILPOINT` is `name`; else nothing."""
    if env.FAILPOINT.get() == name:
        os.write(2, f"failpoint {name}: exiting\n".encode())
        os._exit(EXIT_STATUS)
