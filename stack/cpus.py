"""How many CPUs this process may use: the fewer of the CPUs it may run on and its cgroup's quota.

`os.cpu_count()` counts the machine's CPUs, not what a container was given: under
`docker run --cpus 2` on a 32-CPU host it says 32, and a server sized by it runs 16 times too
many workers, which then share two CPUs' worth of time (issue 13). Two things bound it:

- the affinity mask (`os.sched_getaffinity`, e.g. `docker run --cpuset-cpus`, `taskset`);
- the CPU quota of the process's cgroup and its ancestors: cgroup v2 `cpu.max` (`"max 100000"`
  or `"200000 100000"`, quota and period in µs), cgroup v1 `cpu.cfs_quota_us` (-1: none) and
  `cpu.cfs_period_us`. A quota of 1.5 CPUs counts as 2 (rounded up, as the JVM does): a worker
  that gets half a CPU still serves.

The files are found through `/proc/self/cgroup`; inside a container (a cgroup namespace) that
path is `/` and the files sit at the mount's root, which is read too.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["cgroup_cpu_limit", "usable_cpus"]

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


def usable_cpus(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> int:
    """CPUs this process may use (at least 1): the affinity mask's size, lowered to the cgroup's
    quota (`cgroup_cpu_limit`) when it has one."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cpus = os.cpu_count() or 1
    limit = cgroup_cpu_limit(root, proc_cgroup)
    if limit is not None:
        cpus = min(cpus, math.ceil(limit))
    return max(1, cpus)


def cgroup_cpu_limit(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> float | None:
    """The CPU quota (in CPUs, e.g. 1.5) of this process's cgroup: the smallest over the cgroup
    and its ancestors, v2 and v1 alike; None when none has a quota or nothing can be read."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        lines = []
    limits: list[float] = []
    for line in lines:
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":  # v2: one unified tree
            limits += _quotas(_mounted(root, ("", "unified")), path, _v2_quota)
        elif "cpu" in controllers.split(","):
            limits += _quotas(_mounted(root, (controllers, "cpu", "cpu,cpuacct")), path, _v1_quota)
    return min(limits) if limits else None


def _mounted(root: Path, names: tuple[str, ...]) -> list[Path]:
    """The mounts under `root` that may hold a hierarchy (v2 at the root itself or at
    `unified` beside v1; v1's cpu controller under one of its names)."""
    return [root / name if name else root for name in names if (root / name).is_dir()]


def _quotas(mounts: list[Path], path: str, read: Callable[[Path], float | None]) -> list[float]:
    """The quotas read by `read` in the cgroup at `path` and its ancestors, under each mount;
    a path that does not exist under a mount (the host's path seen inside a container) is
    skipped, and the mount's root is read last."""
    found: list[float] = []
    parts = [p for p in path.strip("/").split("/") if p]
    for mount in mounts:
        for depth in range(len(parts), -1, -1):
            quota = read(mount.joinpath(*parts[:depth]))
            if quota is not None:
                found.append(quota)
    return found


def _v2_quota(folder: Path) -> float | None:
    """CPUs allowed by a v2 `cpu.max` (`"max 100000"`: none), or None."""
    try:
        quota, _, period = (folder / "cpu.max").read_text().strip().partition(" ")
        if quota == "max":
            return None
        return int(quota) / int(period or "100000")
    except (OSError, ValueError, ZeroDivisionError):
        return None


def _v1_quota(folder: Path) -> float | None:
    """CPUs allowed by v1 `cpu.cfs_quota_us` over `cpu.cfs_period_us` (-1: none), or None."""
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None
