"""The sticky cache: running workflow instances a worker process keeps between tasks.

After a workflow task that leaves an activity running commits, its instance stays here
(keyed by run id) with the commands it issued and the id of the last event it saw. The
next task on that run in this process loads only the newer events and continues the
instance, so a task costs what its new events cost, not what the whole history does
(Temporal's sticky execution). Correctness never depends on it: a miss (another worker
ran the run, an eviction, a restart, a failed task) replays from the database.

An entry is *taken* out while a task uses it and put back only after that task's
transaction commits, so two threads never share an instance and a rolled-back task
leaves nothing behind.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from ._engine import Command, WorkflowInstance


@dataclass(frozen=True)
class CachedRun:
    instance: WorkflowInstance
    #: What the instance's last task returned, to be bound to the events recorded for it.
    issued: list[Command]
    #: The last event the instance has seen (its last task's activation ended there).
    last_event_id: int


class StickyCache:
    """A least-recently-used map of run id to :class:`CachedRun`, at most ``capacity``."""

    def __init__(self) -> None:
        self._runs: OrderedDict[str, CachedRun] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, run_id: str) -> CachedRun | None:
        with self._lock:
            return self._runs.pop(run_id, None)

    def put(self, run_id: str, entry: CachedRun, capacity: int) -> None:
        with self._lock:
            self._runs[run_id] = entry
            self._runs.move_to_end(run_id)
            while len(self._runs) > capacity:
                self._runs.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._runs.clear()

    def __len__(self) -> int:
        return len(self._runs)


#: This process's cache.
runs = StickyCache()
