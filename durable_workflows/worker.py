"""Temporal's ``Worker`` shape, for scripts ported from Temporal.

Workers are plain Celery workers (``celery -A proj worker -Q <task queue>``).
This class lets a Temporal ``run_worker.py`` keep working with changed imports:
``await Worker(client, task_queue=..., workflows=[...], activities=[...]).run()``
runs such a Celery worker process and waits for it.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from . import _dispatch, _registration, _registry
from ._registration import REGISTRATION_ENV

__all__ = ["Worker"]


class Worker:
    """Runs a Celery worker process consuming ``task_queue``.

    Args:
        client: Accepted for compatibility (the database is the server).
        task_queue: The Celery queue to consume.
        workflows: Workflow classes this worker runs. Where another workflow has the same
            name (a second module, a test's stand-in), this queue runs the one listed.
        activities: Activity functions, chosen likewise for the queue (so a test can list
            a mock under the real activity's name), and methods of instances
            (``Worker(activities=[db_activities.save])`` for an ``@activity.defn`` method
            ``save``): the worker holds the instance, and every attempt of the activity
            in this process calls its method. Workflows name it by the class's method
            (``workflow.execute_activity_method(DbActivities.save, ...)``).
        activity_executor: If it is a thread pool, its size becomes the worker's
            thread concurrency; otherwise the worker runs one task at a time.
        celery_app: The ``-A`` argument; default ``$CELERY_APP`` or the package of
            ``$DJANGO_SETTINGS_MODULE`` (Celery's Django layout: ``proj/celery.py``).
    """

    def __init__(
        self,
        client: Any = None,
        *,
        task_queue: str,
        workflows: Sequence[type] = (),
        activities: Sequence[Callable[..., Any]] = (),
        activity_executor: Any = None,
        celery_app: str | None = None,
        **_ignored: Any,
    ) -> None:
        workflow_definitions = [_registry.resolve_workflow(cls) for cls in workflows]
        self.instance_methods = [fn for fn in activities if inspect.ismethod(fn)]
        activity_definitions = []
        for activity_fn in activities:
            if inspect.ismethod(activity_fn):
                activity_definitions.append(_registry.register_activity_method(activity_fn))
            else:
                _, definition = _registry.resolve_activity(activity_fn)
                assert definition is not None  # resolve_activity raises for a plain function
                activity_definitions.append(definition)
        # This queue runs these, whatever else shares their names (in this process, and in
        # the worker process it starts, which reads them from its environment).
        _registry.register_for_queue(task_queue, workflow_definitions, activity_definitions)
        self.registration = {
            REGISTRATION_ENV: _registration.encode(
                task_queue,
                [d.cls for d in workflow_definitions],
                [fn for fn in activities if not inspect.ismethod(fn)],
            )
        }
        self.task_queue = task_queue
        self.celery_app = celery_app or os.environ.get("CELERY_APP") or _settings_package()
        threads = getattr(activity_executor, "_max_workers", None)
        pool = ["--pool=threads", f"--concurrency={threads}"] if threads else ["--pool=solo"]
        self.command = [
            sys.executable, "-m", "celery", "-A", self.celery_app, "worker",
            "-Q", task_queue, *pool, "-l", "info",
        ]  # fmt: skip

    async def __aenter__(self) -> Worker:
        """Run the worker process for the block (Temporal's ``async with Worker(...)``).

        Inside a :class:`durable_workflows.testing.WorkflowEnvironment` nothing starts: the
        environment runs workflows and activities in this process.
        """
        self._process = await _dispatch.start_worker_process(self.command, self.registration)
        if self._process is not None and self.instance_methods:
            await self.__aexit__()
            raise self._instances_stay_here()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            await self._process.wait()

    async def run(self) -> None:
        """Run the worker until it exits (or this coroutine is cancelled)."""
        if self.instance_methods:
            raise self._instances_stay_here()
        process = await asyncio.create_subprocess_exec(
            *self.command, env={**os.environ, **self.registration}
        )
        try:
            code = await process.wait()
        except asyncio.CancelledError:
            process.terminate()
            await process.wait()
            raise
        if code != 0:
            raise RuntimeError(f"The Celery worker exited with status {code}: {self.command}")

    def _instances_stay_here(self) -> ImproperlyConfigured:
        names = ", ".join(getattr(fn, "__qualname__", repr(fn)) for fn in self.instance_methods)
        return ImproperlyConfigured(
            f"This Worker runs a Celery worker process, which cannot receive the instances "
            f"whose methods are its activities ({names}). Create the Worker (with the "
            "instances) in the process that runs them, e.g. from a handler of Celery's "
            "worker_init signal (worker_process_init with the prefork pool) in the project's "
            "celery.py; inside a WorkflowEnvironment it works as is."
        )


def _settings_package() -> str:
    settings_module = os.environ.get("DJANGO_SETTINGS_MODULE")
    if not settings_module:
        raise ImproperlyConfigured(
            "Worker needs to know the Celery app: pass celery_app='proj', or set CELERY_APP "
            "or DJANGO_SETTINGS_MODULE."
        )
    return settings_module.split(".")[0]
