"""How many threads llama.cpp decodes with: the CPUs this process may use, and a governor that
notices when another process takes them.

llama.cpp's threads meet at a barrier after every layer; when one of them is descheduled because
another process holds its core, the others spin until it returns. On a two-core machine with one
core busy, SmolLM2-135M decoded 0.24 cases a second with two threads against 3.85 with one — a
16x collapse (issue 24) — and CI runners and laptops are such machines.

So the default is chosen in two steps:
1. `usable_cpus()`: the CPUs this process may actually run on — its affinity mask, capped by a
   cgroup CPU quota (a container given 1.5 CPUs of a 64-core host gets 2, not 64) — and
   `default_threads()` leaves out the cores other processes keep busy over a short sample.
2. `ThreadGovernor` while a run decodes: it times each call per unit of work (generated tokens
   plus prompt tokens at a tenth of their weight, as prompt tokens are evaluated in batches) at
   the full count and, now and then, at one thread, and keeps whichever is faster. A collapse
   shows within a few calls; when the other process goes, the periodic probe of the full count
   brings the threads back. A count set by the user (`local_threads:` in tierwise.yaml) is kept
   as it is: no governor.
"""

from __future__ import annotations

import math
import os
import statistics
from collections import deque
from pathlib import Path
from typing import Callable

PROMPT_WEIGHT = 0.1       # a prompt token costs about a tenth of a generated one (batched evaluation)
WINDOW = 5                # calls per setting whose median is compared
PROBE_EVERY = 24          # calls between probes of the setting not in use
SWITCH_MARGIN = 1.25      # the other setting must be this much faster to switch
COLLAPSE_NOTE = 2.0       # a slowdown this large at the full count is worth telling the user


def usable_cpus(cgroup_root: Path = Path("/sys/fs/cgroup")) -> int:
    """CPUs this process may run on: its affinity mask, capped by a cgroup CPU quota (v2 `cpu.max`,
    or v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`), rounded up."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    quota = _cgroup_quota(cgroup_root)
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return max(1, cpus)


def _cgroup_quota(root: Path) -> float | None:
    try:
        fields = (root / "cpu.max").read_text().split()
        if len(fields) == 2 and fields[0] != "max":
            return int(fields[0]) / int(fields[1])
        return None
    except (OSError, ValueError, ZeroDivisionError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None


def default_threads(cpus: int | None = None, others: float | None = None) -> int:
    """Threads for llama.cpp when the user set none: the usable CPUs less the cores other
    processes keep busy right now (at least one)."""
    cpus = usable_cpus() if cpus is None else cpus
    others = others_busy() if others is None else others
    return max(1, min(cpus, cpus - int(others + 0.5)))


def others_busy(sample_s: float = 0.25, proc: Path = Path("/proc")) -> float:
    """Cores that processes other than this one kept busy over a short sample: the machine's busy
    time less this process's own (/proc/stat and /proc/self/stat), 0.0 where /proc is missing.
    The load average would count this process's own work (a long test session, the run's
    earlier rounds) as someone else's."""
    import time

    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    try:
        busy0, own0, t0 = _busy(proc), _own(proc), time.monotonic()
        time.sleep(sample_s)
        busy1, own1, t1 = _busy(proc), _own(proc), time.monotonic()
    except (OSError, ValueError, IndexError):
        return 0.0
    return max(0.0, ((busy1 - busy0) - (own1 - own0)) / ticks / max(t1 - t0, 1e-3))


def _busy(proc: Path) -> int:
    fields = (proc / "stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return user + nice + system + irq + softirq + steal


def _own(proc: Path) -> int:
    text = (proc / "self" / "stat").read_text()
    fields = text[text.rindex(")") + 2:].split()  # the name may hold spaces; fields after it
    return int(fields[11]) + int(fields[12])      # utime, stime (fields 14 and 15 of the line)


class ThreadGovernor:
    """Chooses, per model, between `full` threads and one, by the measured pace of each.

    `observe(model, seconds, prompt_tokens, completion_tokens)` after every call returns the thread
    count for the next one. Unit-tested with timings alone (tests/models/test_threads.py)."""

    def __init__(self, full: int, note: Callable[[str], None] | None = None):
        self.full = max(1, full)
        self.note = note or (lambda _text: None)
        self.current: dict[str, int] = {}
        self._paces: dict[tuple[str, int], deque[float]] = {}
        self._since_probe: dict[str, int] = {}
        self._probing: dict[str, int] = {}   # model -> the count it returns to after a probe
        self._told: set[str] = set()

    def threads(self, model: str) -> int:
        return self.current.setdefault(model, self.full)

    def observe(self, model: str, seconds: float, prompt_tokens: int, completion_tokens: int) -> int:
        threads = self.threads(model)
        if self.full == 1:
            return 1
        work = completion_tokens + PROMPT_WEIGHT * prompt_tokens
        if work > 0 and seconds > 0:
            self._paces.setdefault((model, threads), deque(maxlen=WINDOW)).append(seconds / work)
        if model in self._probing:  # one call at the other setting: decide, then carry on
            back = self._probing.pop(model)
            return self._settle(model, back)
        self._since_probe[model] = self._since_probe.get(model, 0) + 1
        other = 1 if threads == self.full else self.full
        measured = len(self._paces.get((model, threads), ()))
        first_look = threads == self.full and not self._paces.get((model, 1))
        if measured >= 3 and (first_look or self._since_probe[model] >= PROBE_EVERY):
            self._since_probe[model] = 0
            self._probing[model] = threads
            self.current[model] = other
            return other
        return threads

    def _settle(self, model: str, back: int) -> int:
        full = self._median(model, self.full)
        one = self._median(model, 1)
        choice = back
        if full is not None and one is not None:
            if back == self.full and full > SWITCH_MARGIN * one:
                choice = 1
            elif back == 1 and one > SWITCH_MARGIN * full:
                choice = self.full
        self.current[model] = choice
        if choice == 1 and full is not None and one is not None and full > COLLAPSE_NOTE * one \
                and model not in self._told:
            self._told.add(model)
            self.note(f"{model}: decoding with {self.full} threads ran {full / one:.1f}x slower than with one — "
                      f"another process is using the cores; decoding on 1 thread now (it probes {self.full} "
                      f"again every {PROBE_EVERY} calls; set local_threads: in tierwise.yaml to fix the count)")
        return choice

    def _median(self, model: str, threads: int) -> float | None:
        paces = self._paces.get((model, threads))
        return statistics.median(paces) if paces else None
