"""The usage ledger's writer: rows leave the call path at once and are written in batches by
one background thread. A slow or unreachable store never blocks or fails a call: rows wait in
a bounded buffer, and when it is full new rows are dropped and counted, never raised.
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any

# Every column the ledger row carries, in the table's terms (store/_schema.py usage_ledger).
COLUMNS = ("at", "call_id", "task", "model", "target", "attempt", "kind", "outcome", "final", "error_type",
           "error", "contract_reason", "prompt_tokens", "completion_tokens", "cost", "latency_ms", "trace",
           "step", "input", "output")


@dataclass
class LedgerStats:
    written: int
    pending: int
    dropped: int
    last_error: str | None


class LedgerWriter:
    """Batched, bounded, background writes of usage rows to the store at `url`.

    put() never blocks and never raises. The store is opened in the writer thread (so a store
    that is down at start-up costs the application nothing) and re-tried with backoff.
    """

    def __init__(self, url: str, max_buffer: int = 10_000, batch_size: int = 500, flush_s: float = 0.5,
                 retry_s: float = 1.0, max_retry_s: float = 30.0):
        self.url = url
        self.max_buffer = max_buffer
        self.batch_size = batch_size
        self.flush_s = flush_s
        self.retry_s = retry_s
        self.max_retry_s = max_retry_s
        self._rows: deque[dict[str, Any]] = deque()
        self._cond = threading.Condition()
        self._in_flight = 0
        self._written = 0
        self._dropped = 0
        self._last_error: str | None = None
        self._closed = False
        self._store: Any = None
        self._thread: threading.Thread | None = None
        # A process that exits without close() still gets a short chance to write what it has.
        ref = weakref.ref(self)
        self._atexit = lambda: (w := ref()) is not None and w.close(timeout=2.0)
        atexit.register(self._atexit)

    # -- the call path ------------------------------------------------------------
    def put(self, row: dict[str, Any]) -> bool:
        """Queue one row; False (and counted as dropped) when the buffer is full or closed."""
        with self._cond:
            if self._closed or len(self._rows) + self._in_flight >= self.max_buffer:
                self._dropped += 1
                return False
            self._rows.append(row)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tierwise-ledger", daemon=True)
                self._thread.start()
            if len(self._rows) >= self.batch_size:
                self._cond.notify()
        return True

    # -- control ------------------------------------------------------------------
    def stats(self) -> LedgerStats:
        with self._cond:
            return LedgerStats(self._written, len(self._rows) + self._in_flight, self._dropped, self._last_error)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued row is written; False if that did not happen in time."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._cond.notify_all()
            while self._rows or self._in_flight:
                left = deadline - time.monotonic()
                if left <= 0 or self._thread is None or not self._thread.is_alive():
                    return False
                self._cond.wait(min(left, 0.05))
                self._cond.notify_all()
        return True

    def close(self, timeout: float = 10.0) -> LedgerStats:
        """Write what is queued (up to `timeout` seconds), then stop; later rows are dropped."""
        self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=max(0.1, timeout))
        if self._store is not None:
            self._store.close()
            self._store = None
        atexit.unregister(self._atexit)
        return self.stats()

    # -- the writer thread --------------------------------------------------------
    def _run(self) -> None:
        backoff = self.retry_s
        while True:
            with self._cond:
                if not self._rows and not self._closed:
                    self._cond.wait(self.flush_s)
                if not self._rows:
                    if self._closed:
                        return
                    continue
                batch = [self._rows.popleft() for _ in range(min(self.batch_size, len(self._rows)))]
                self._in_flight = len(batch)
            try:
                self._write(batch)
            except Exception as exc:  # noqa: BLE001 - the store being down is expected, not fatal
                with self._cond:
                    self._rows.extendleft(reversed(batch))  # keep them, in order, for the next try
                    self._in_flight = 0
                    self._last_error = _describe(exc)
                    closed = self._closed
                    self._cond.notify_all()
                if closed:
                    return
                time.sleep(backoff)
                backoff = min(self.max_retry_s, backoff * 2)
                continue
            backoff = self.retry_s
            with self._cond:
                self._in_flight = 0
                self._written += len(batch)
                self._last_error = None
                self._cond.notify_all()

    def _write(self, batch: list[dict[str, Any]]) -> None:
        from ..store import Store, usage_ledger

        if self._store is None:
            self._store = Store(self.url)
        with self._store.engine.begin() as conn:
            conn.execute(usage_ledger.insert(), [{c: row.get(c) for c in COLUMNS} for row in batch])


def _describe(exc: BaseException) -> str:
    from ..util import redact

    text = " ".join(str(exc).split())[:300]
    return redact(f"{type(exc).__name__}: {text}")
