"""Progress on long work: a bar per task x model on a terminal, plain lines elsewhere (CI logs)."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any


class Progress:
    """Counts committed results per (task, model) and shows them."""

    def __init__(self, enabled: bool = True, stream: Any = None, heartbeat_s: float = 30.0):
        self.stream = stream or sys.stderr
        self.heartbeat_s = heartbeat_s  # without a terminal: a line at least this often on slow pairs
        self._said = time.monotonic()
        self.enabled = enabled
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self._lock = threading.Lock()
        self._totals: dict[tuple[str, str], int] = {}
        self._done: dict[tuple[str, str], int] = {}
        self._errors: dict[tuple[str, str], int] = {}
        self._started: dict[tuple[str, str], float] = {}
        self._tokens: dict[tuple[str, str], tuple[int, float]] = {}  # generated tokens, seconds generating
        self.first_error: dict[tuple[str, str], str] = {}
        self._bars: Any = None
        self._ids: dict[tuple[str, str], Any] = {}

    def start(self, items: list[Any]) -> None:
        for it in items:
            key = (it.task.name, it.cand.name)
            self._totals[key] = self._totals.get(key, 0) + 1
            self._done.setdefault(key, 0)
            self._errors.setdefault(key, 0)
        if not self.enabled or not items:
            return
        if self.tty:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as Bars

            self._bars = Bars(TextColumn("{task.description:<36}"), BarColumn(), MofNCompleteColumn(),
                              TextColumn("{task.fields[err]}"), TextColumn("{task.fields[rate]}"),
                              TimeRemainingColumn(),
                              console=Console(file=self.stream), transient=False)
            for key, total in self._totals.items():
                self._ids[key] = self._bars.add_task(f"{key[0]} × {key[1]}", total=total, err="", rate="")
            self._bars.start()
        else:
            self.line(f"running {len(items)} calls across {len(self._totals)} task × model pairs")

    def advance(self, row: Any) -> None:
        key = (row.task, row.model)
        now = time.monotonic()
        # The pair's clock starts when its first call started, not when its first result came
        # back: five 5-10 s calls made at once are "done (9.8s)", not "done (0.0s)". A result
        # from the cache took no time here.
        latency_s = 0.0 if getattr(row, "cached", False) else (getattr(row, "latency_ms", None) or 0.0) / 1000
        with self._lock:
            self._started[key] = min(self._started.get(key, now), now - latency_s)
            self._done[key] = self._done.get(key, 0) + 1
            tokens = getattr(row, "completion_tokens", None)
            if tokens and latency_s > 0:
                have, secs = self._tokens.get(key, (0, 0.0))
                self._tokens[key] = (have + int(tokens), secs + latency_s)
            first = row.error is not None and key not in self.first_error
            if row.error is not None:
                self._errors[key] = self._errors.get(key, 0) + 1
                self.first_error.setdefault(key, row.error)
            done, total, errors = self._done[key], self._totals.get(key, 0), self._errors.get(key, 0)
        if not self.enabled:
            return
        if first:  # a failure is shown where it happens, with its cause; later ones are counted
            self.note(f"  ! {key[0]} × {key[1]}: {row.error} (further errors are counted)")
        if self._bars is not None:
            self._bars.update(self._ids[key], completed=done, err=f"{errors} errors" if errors else "",
                              rate=self.rate(key))
        elif done == total:
            took = time.monotonic() - self._started[key]
            self.line(f"  {key[0]} × {key[1]}: {done}/{total} done"
                      f"{f', {errors} errors' if errors else ''} ({took:.1f}s{self.rate(key, ', ')})")
        elif time.monotonic() - self._said >= self.heartbeat_s:  # a slow pair (a local model) shows it moves
            took = time.monotonic() - self._started[key]
            self.line(f"  {key[0]} × {key[1]}: {done}/{total} so far"
                      f"{f', {errors} errors' if errors else ''} ({took:.0f}s{self.rate(key, ', ')})")

    def rate(self, key: tuple[str, str], sep: str = "") -> str:
        """Generated tokens a second of a pair's calls (their own time, not the wall clock's): how
        fast a local model decodes on this machine now. Empty before a call generated tokens."""
        tokens, secs = self._tokens.get(key, (0, 0.0))
        return f"{sep}{tokens / secs:.1f} tok/s" if tokens and secs > 0 else ""

    def note(self, message: str) -> None:
        if self.enabled:
            if self._bars is not None:
                self._bars.console.print(message)
            else:
                self.line(message)

    def line(self, message: str) -> None:
        from ..util import redact

        print(redact(message), file=self.stream, flush=True)
        self._said = time.monotonic()

    def stop(self) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None
