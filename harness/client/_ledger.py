"""The usage ledger's writer: rows leave the call path at once and are written in batches by
one background thread. A slow or unreachable store never blocks or fails a call: rows wait in
a bounded buffer, and when it is full new rows are dropped and counted, never raised.

A row is fitted to the table as it is queued (store.fit_usage_row: NUL bytes removed, a string
longer than its column cut with a marker), so a caller's long `trace` is kept, shortened. A row
the store refuses all the same is written alone so the rest of its batch lands, and counted;
it never blocks the rows after it. Every row not written (dropped with a full buffer, refused,
or still queued when close() gives up) is counted in stats().not_written and logged once, at
close.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("harness.client")


@dataclass
class LedgerStats:
    written: int
    pending: int
    dropped: int            # put() with the buffer full, or after close()
    last_error: str | None
    refused: int = 0        # the store would not hold the row, even alone
    lost: int = 0           # still queued when close() gave up (the store was down)
    last_refused: str | None = None  # why the store refused the latest refused row

    @property
    def not_written(self) -> int:
        """Rows that never reached the store and never will."""
        return self.dropped + self.refused + self.lost


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
        self._refused = 0
        self._lost = 0
        self._reported = False
        self._last_refused: str | None = None
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
        from ..store import fit_usage_row

        row = fit_usage_row(row)
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
            return LedgerStats(self._written, len(self._rows) + self._in_flight, self._dropped, self._last_error,
                               self._refused, self._lost, self._last_refused)

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
        """Write what is queued (up to `timeout` seconds), then stop; rows still queued are
        counted as lost, later rows as dropped, and anything not written is logged once."""
        self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=max(0.1, timeout))
        with self._cond:
            self._lost += len(self._rows)  # a batch still in flight is counted when its write ends
            self._rows.clear()
        if self._store is not None and (self._thread is None or not self._thread.is_alive()):
            self._store.close()
            self._store = None
        atexit.unregister(self._atexit)
        stats = self.stats()
        if stats.not_written and not self._reported:
            self._reported = True
            log.warning("tierwise: %d usage-ledger rows not written (%d dropped with the buffer full, %d refused by "
                        "the store, %d queued at close)%s", stats.not_written, stats.dropped, stats.refused,
                        stats.lost, f"; last error: {stats.last_error or stats.last_refused}"
                        if stats.last_error or stats.last_refused else "")
        return stats

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
                done, error = self._write(batch), None
            except Exception as exc:  # noqa: BLE001 - the store being down is expected, not fatal
                done, error = None, _describe(exc)
            untried, closed = self._settle(batch, done, error)
            if not untried:
                backoff = self.retry_s
                continue
            if closed:
                return
            time.sleep(backoff)
            backoff = min(self.max_retry_s, backoff * 2)

    def _settle(self, batch: list[dict[str, Any]], done: Any, error: str | None) -> tuple[list, bool]:
        """Count a batch's outcome; rows not tried go back to the front of the queue (or, once
        closed, are lost). Returns (untried rows, closed)."""
        with self._cond:
            self._in_flight = 0
            if done is not None:
                self._written += done.written
                self._refused += len(done.refused)
                error = done.error and _describe_text(done.error)
                if done.refused:
                    self._last_refused = _describe_text(done.refused[-1])
            untried = batch if done is None else done.untried
            self._last_error = error if untried else None
            if untried and self._closed:
                self._lost += len(untried)  # close() has given up on them
            elif untried:
                self._rows.extendleft(reversed(untried))  # kept, in order, for the next try
            self._cond.notify_all()
            return untried, self._closed

    def _write(self, batch: list[dict[str, Any]]) -> Any:
        from ..store import Store

        if self._store is None:
            self._store = Store(self.url)
        return self._store.append_usage(batch)


def _describe(exc: BaseException) -> str:
    return _describe_text(f"{type(exc).__name__}: {exc}")


def _describe_text(text: str) -> str:
    from ..util import redact

    return redact(" ".join(text.split())[:300])
