"""The cores behind a gateway (`ERP_CORE_URL`, one or several): which to ask next, which are
down, and when to try a down one again.

- Requests are spread round-robin over the healthy cores (`CorePool.candidates` gives a
  request's order: the healthy ones starting at the next in turn, then the down ones, so a
  request that may go elsewhere tries every core before the client gets a 502).
- A core that refuses a connection or drops one before answering is marked down
  (`CorePool.failed`) for `DOWN_FOR` seconds, doubling at each failure in a row up to
  `DOWN_FOR_MAX`. It gets no first attempts meanwhile.
- A down core comes back when its probe (`CorePool.probe_due`, run by the proxy every
  `PROBE_EVERY` seconds: `GET /api/v1/health/live`) answers 200, or when a request that tried
  it last resort got an answer (`CorePool.answered`).

Timeouts do not mark a core down: a slow request says little about the next one (and a core
that is truly gone refuses connections, which does).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

DOWN_FOR = 1.0  # seconds a core that just failed gets no first attempts
DOWN_FOR_MAX = 15.0  # the longest such wait, after failures in a row
PROBE_EVERY = 0.5  # seconds between looks for down cores whose wait is over
PROBE_PATH = "/api/v1/health/live"

Clock = Callable[[], float]


@dataclass(slots=True, eq=False)
class Core:
    """One core: its base URL (`http://host:port` plus any path prefix, no trailing `/`),
    whether it is taken as up, when a down one may be probed (monotonic seconds), and its
    failures in a row (which stretch the wait)."""

    url: str
    up: bool = True
    probe_at: float = 0.0
    failures: int = field(default=0)


class CorePool:
    """The gateway's cores and their health (see the module's docstring)."""

    def __init__(self, urls: Sequence[str], clock: Clock = time.monotonic) -> None:
        if not urls:
            raise ValueError("a gateway needs at least one core")
        self.cores = [Core(url) for url in urls]
        self._clock = clock
        self._turn = 0

    def candidates(self) -> list[Core]:
        """The cores one request tries, in order: the healthy ones round-robin (each request
        starts at the next), then the down ones, soonest due for a probe first."""
        cores = self.cores
        if len(cores) == 1:
            return cores
        self._turn = (self._turn + 1) % len(cores)
        rotated = cores[self._turn :] + cores[: self._turn]
        up = [core for core in rotated if core.up]
        if len(up) == len(cores):
            return up
        down = sorted((core for core in rotated if not core.up), key=lambda core: core.probe_at)
        return up + down

    def failed(self, core: Core) -> None:
        """`core` refused or dropped a connection: down, probed again after a wait that doubles
        with each failure in a row."""
        core.failures += 1
        wait = min(DOWN_FOR_MAX, DOWN_FOR * 2 ** (core.failures - 1))
        core.up = False
        core.probe_at = self._clock() + wait

    def answered(self, core: Core) -> None:
        """`core` answered (any HTTP status): up, its failures forgotten."""
        if not core.up or core.failures:
            core.up = True
            core.failures = 0

    def probe_due(self) -> list[Core]:
        """Down cores whose wait is over (their probe is due now)."""
        now = self._clock()
        return [core for core in self.cores if not core.up and core.probe_at <= now]

    def healthy(self) -> list[Core]:
        """The cores taken as up."""
        return [core for core in self.cores if core.up]
