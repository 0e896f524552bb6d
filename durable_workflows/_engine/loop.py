"""A deterministic asyncio event loop: no I/O, no wall clock, FIFO callbacks.

Workflow code runs on this loop so that ``asyncio`` primitives (tasks, futures,
``gather``, ``wait_for``, ``sleep``) work as usual, while everything that would
touch time becomes a durable timer command instead. The loop never blocks: it
runs ready callbacks until none remain, then hands control back to the engine,
which feeds it the next batch of history events.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
from asyncio import events
from collections.abc import Callable, Coroutine, Generator
from typing import Any, Protocol, TypeVar, TypeVarTuple, Unpack

from .errors import WorkflowLoopError
from .runtime import WorkflowRuntime

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")


class LoopHost(WorkflowRuntime, Protocol):
    """The run a loop belongs to: its runtime, plus what the loop hands back to it."""

    def start_loop_timer(self, handle: asyncio.TimerHandle, delay: float) -> None: ...

    def cancel_loop_timer(self, handle: asyncio.TimerHandle) -> None: ...

    def on_unhandled(self, context: dict[str, Any]) -> None: ...


def current_runtime() -> WorkflowRuntime | None:
    """The runtime of the workflow whose code is running (on this thread), or None."""
    loop = asyncio._get_running_loop()
    return loop.runtime if isinstance(loop, DeterministicEventLoop) else None


class DeterministicEventLoop(asyncio.AbstractEventLoop):
    def __init__(self, host: LoopHost) -> None:
        self._host = host
        self._ready: collections.deque[asyncio.Handle] = collections.deque()
        self._now = 0.0
        self._closed = False

    # --- the engine's side ----------------------------------------------------------

    @property
    def runtime(self) -> WorkflowRuntime:
        return self._host

    def set_time(self, timestamp: float) -> None:
        self._now = timestamp

    def run_ready(self) -> None:
        """Run callbacks until none are ready, with this loop as the running loop."""
        previous = events._get_running_loop()
        events._set_running_loop(self)
        try:
            while self._ready:
                handle = self._ready.popleft()
                if not handle._cancelled:
                    handle._run()
        finally:
            events._set_running_loop(previous)

    def run_callback(self, fn: Callable[[], Any]) -> Any:
        """Call ``fn`` synchronously with this loop as the running loop."""
        previous = events._get_running_loop()
        events._set_running_loop(self)
        try:
            return fn()
        finally:
            events._set_running_loop(previous)

    def schedule_handle(self, handle: asyncio.Handle) -> None:
        self._ready.append(handle)

    def has_ready(self) -> bool:
        """Whether callbacks are waiting to run (work was started)."""
        return bool(self._ready)

    # --- asyncio's side -------------------------------------------------------------

    def time(self) -> float:
        return self._now

    def call_soon(
        self,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        handle = asyncio.Handle(callback, args, self, context)
        self._ready.append(handle)
        return handle

    def call_later(
        self,
        delay: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        handle = asyncio.TimerHandle(self._now + delay, callback, args, self, context)
        if delay <= 0:
            self._ready.append(handle)
        else:
            self._host.start_loop_timer(handle, delay)
        return handle

    def call_at(
        self,
        when: float,
        callback: Callable[[Unpack[_Ts]], object],
        *args: *_Ts,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        return self.call_later(when - self._now, callback, *args, context=context)

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        self._host.cancel_loop_timer(handle)

    def create_future(self) -> asyncio.Future[Any]:
        return asyncio.Future(loop=self)

    def create_task(
        self,
        coro: Generator[Any, None, _T] | Coroutine[Any, Any, _T],
        *,
        name: str | None = None,
        context: contextvars.Context | None = None,
    ) -> asyncio.Task[_T]:
        return asyncio.Task(coro, loop=self, name=name, context=context)

    def get_debug(self) -> bool:
        return False

    def is_running(self) -> bool:
        return True

    def is_closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        self._host.on_unhandled(context)

    def default_exception_handler(self, context: dict[str, Any]) -> None:
        self._host.on_unhandled(context)

    def get_exception_handler(self) -> None:
        return None

    def get_task_factory(self) -> None:
        return None

    # --- what workflow code must not do ------------------------------------------------

    def _forbidden(self, *args: Any, **kwargs: Any) -> Any:
        raise WorkflowLoopError(
            "Workflow code cannot do I/O or use threads: move this call into an activity."
        )


# asyncio's I/O, threads and blocking runs: each raises WorkflowLoopError in workflow code.
_FORBIDDEN = (
    "run_in_executor",
    "getaddrinfo",
    "create_connection",
    "create_server",
    "subprocess_exec",
    "subprocess_shell",
    "add_reader",
    "add_writer",
    "sock_connect",
    "call_soon_threadsafe",
    "run_forever",
    "run_until_complete",
)
for _name in _FORBIDDEN:
    setattr(DeterministicEventLoop, _name, DeterministicEventLoop._forbidden)
