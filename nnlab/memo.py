"""A small thread-safe memo shared by the threads of a process: least recently used out, with a time to live."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict


class Memo:
    """A thread-safe least-recently-used map with a time to live (seconds since an entry was last used).

    `get(key, make)` returns the kept value or keeps `make()`. The app keeps per-snapshot parts of its figures in
    one (`appkit.snapshot_cached`: Streamlit's caches cost ~0.1 ms a key, and a figure over all snapshots looks up
    every one of them on each refresh of a page following a run), the figures their encoded frames."""

    def __init__(self, max_entries: int, ttl: float, clock=time.monotonic):
        self.max_entries, self.ttl, self.clock = max_entries, ttl, clock
        self._items: OrderedDict = OrderedDict()  # key -> (value, last used)
        self._lock = threading.Lock()

    def get(self, key, make):
        now = self.clock()
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and now - hit[1] <= self.ttl:
                self._items[key] = (hit[0], now)
                self._items.move_to_end(key)
                return hit[0]
        value = make()  # outside the lock: two sessions may both work it out once, neither waits for the other
        with self._lock:
            self._items[key] = (value, now)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries or (
                self._items and now - next(iter(self._items.values()))[1] > self.ttl
            ):
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)
