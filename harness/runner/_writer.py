"""The writer thread: commits results as they finish, grouping whatever else finished
meanwhile into the same transaction (group commit under load)."""

from __future__ import annotations

import queue
import threading
from typing import Callable

from ..store import ResultRow, Store


class CacheOnly(list):
    """Responses to cache before their result row exists (a candidate's answer awaiting its judge)."""


class Writer:
    """A thread that commits results as they finish (group commit under load)."""

    def __init__(self, store: Store, on_written: Callable[[ResultRow], None]):
        self.store, self.on_written = store, on_written
        self.queue: queue.Queue[ResultRow | CacheOnly | None] = queue.Queue()
        self.error: BaseException | None = None
        self.written = 0
        self.thread = threading.Thread(target=self._loop, name="tierwise-writer", daemon=True)
        self.thread.start()

    def put(self, row: ResultRow | CacheOnly) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(row)

    def _loop(self) -> None:
        done = False
        while not done:
            batch = [self.queue.get()]
            while len(batch) < 256:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            if None in batch:
                done = True
                batch = [r for r in batch if r is not None]
            if not batch or self.error is not None:
                continue
            cache = [entry for item in batch if isinstance(item, CacheOnly) for entry in item]
            batch = [r for r in batch if not isinstance(r, CacheOnly)]
            try:
                if cache:
                    self.store.put_cache(cache)
                if batch:
                    self.store.write_results(batch)
            except BaseException as exc:  # surfaced to the run, which stops
                self.error = exc
                continue
            self.written += len(batch)
            for row in batch:
                self.on_written(row)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
