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
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .instance import WorkflowInstance


class WorkflowLoopError(RuntimeError):
    """Workflow code asked the loop for something a workflow may not do."""


class DeterministicEventLoop(asyncio.AbstractEventLoop):
    def __init__(self, instance: WorkflowInstance) -> None:
        self._instance = instance
        self._ready: collections.deque[asyncio.Handle] = collections.deque()
        self._now = 0.0
        self._closed = False

    # --- the engine's side ----------------------------------------------------------

    @property
    def instance(self) -> WorkflowInstance:
        return self._instance

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

    # --- asyncio's side -------------------------------------------------------------

    def time(self) -> float:
        return self._now

    def call_soon(
        self,
        callback: Callable[..., Any],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        handle = asyncio.Handle(callback, args, self, context)
        self._ready.append(handle)
        return handle

    def call_later(
        self,
        delay: float,
        callback: Callable[..., Any],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        handle = asyncio.TimerHandle(self._now + delay, callback, args, self, context)
        if delay <= 0:
            self._ready.append(handle)
        else:
            self._instance.start_loop_timer(handle, delay)
        return handle

    def call_at(
        self,
        when: float,
        callback: Callable[..., Any],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.TimerHandle:
        return self.call_later(when - self._now, callback, *args, context=context)

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        self._instance.cancel_loop_timer(handle)

    def create_future(self) -> asyncio.Future[Any]:
        return asyncio.Future(loop=self)

    def create_task(
        self,
        coro: Coroutine[Any, Any, Any],
        *,
        name: str | None = None,
        context: contextvars.Context | None = None,
    ) -> asyncio.Task[Any]:
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
        self._instance.on_unhandled(context)

    def default_exception_handler(self, context: dict[str, Any]) -> None:
        self._instance.on_unhandled(context)

    def get_exception_handler(self) -> None:
        return None

    def get_task_factory(self) -> None:
        return None

    # --- everything else is I/O, which workflow code must not do ----------------------

    def _forbidden(self, *args: Any, **kwargs: Any) -> Any:
        raise WorkflowLoopError(
            "Workflow code cannot do I/O or use threads: move this call into an activity."
        )

    run_in_executor = _forbidden  # type: ignore[assignment]
    getaddrinfo = _forbidden  # type: ignore[assignment]
    create_connection = _forbidden  # type: ignore[assignment]
    create_server = _forbidden  # type: ignore[assignment]
    subprocess_exec = _forbidden  # type: ignore[assignment]
    subprocess_shell = _forbidden  # type: ignore[assignment]
    add_reader = _forbidden  # type: ignore[assignment]
    add_writer = _forbidden  # type: ignore[assignment]
    sock_connect = _forbidden  # type: ignore[assignment]
    call_soon_threadsafe = _forbidden  # type: ignore[assignment]
    run_forever = _forbidden  # type: ignore[assignment]
    run_until_complete = _forbidden  # type: ignore[assignment]
