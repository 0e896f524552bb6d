"""Worker-side test hooks, active only when DW_TEST_PAUSE_DIR is set.

A workflow task whose run has a file ``<run_id>`` in that folder waits (after
writing ``<run_id>.held``) until the file is removed, so a test can kill -9 the
worker at that exact point: whether it came as a Celery message or is continued by
the worker that recorded an activity outcome or fired a timer (after that commit).
Likewise an activity task whose type has a file ``activity-<type>`` waits (after
writing ``activity-<type>.held``), whether it came as a message or was kept by the
workflow task that scheduled it (eager execution).

Inside a transaction: a process that inserts history events for the execution with
primary key ``<pk>`` while a file ``insert-<pk>`` exists waits right after that INSERT,
with the events written but not committed and the execution row locked, after writing
its PostgreSQL backend pid to ``insert-<pk>.held`` (so a test can kill that connection).

While a file ``new-code-*`` exists (a test's "deploy"), a worker forgets its cached
workflow instances before each task, as a restarted worker would.
"""

import os
import time
from pathlib import Path
from typing import Any

from celery.signals import task_prerun
from django.db.backends.signals import connection_created


def install() -> None:
    folder = os.environ.get("DW_TEST_PAUSE_DIR")
    if not folder:
        return
    pause_dir = Path(folder)

    def forget_instances_if_deployed() -> None:
        # A test "deploys new code" with a file new-code-*; a real deploy restarts the
        # workers, which empties their sticky caches, so every run replays on the new code.
        if any(pause_dir.glob("new-code-*")):
            from durable_workflows import _sticky

            _sticky.runs.clear()

    def hold(name: str) -> None:
        forget_instances_if_deployed()
        pause = pause_dir / name
        if pause.exists():
            (pause_dir / f"{name}.held").touch()
            while pause.exists():
                time.sleep(0.05)

    @task_prerun.connect(weak=False)
    def hold_task(sender: Any = None, args: Any = None, **kwargs: Any) -> None:
        task_name = getattr(sender, "name", "")
        if not args:
            return
        if task_name == "durable_workflows.workflow_task":
            hold(str(args[0]))
            hold_workflow(str(args[0]))
        elif task_name == "durable_workflows.deliver_request":
            hold("deliver-requests")
        elif task_name == "durable_workflows.activity_task":
            from durable_workflows.models import ActivityTask

            activity_type = (
                ActivityTask.objects.filter(pk=args[0])
                .values_list("activity_type", flat=True)
                .first()
            )
            if activity_type:
                hold(f"activity-{activity_type}")

    def hold_workflow(run_id: str) -> None:
        # Also by workflow id: a test knows a child's id before its run exists.
        from durable_workflows.models import WorkflowExecution

        workflow_id = (
            WorkflowExecution.objects.filter(run_id=run_id)
            .values_list("workflow_id", flat=True)
            .first()
        )
        if workflow_id:
            hold(f"workflow-{workflow_id}")

    _hold_continued_workflow_tasks(hold, hold_workflow)
    _hold_after_history_insert(pause_dir)


def _hold_continued_workflow_tasks(hold: Any, hold_workflow: Any) -> None:
    # Where work starts without a Celery message of its own: continue_here() (called after
    # an activity's outcome or a timer's firing) and activities a workflow task kept for
    # its own worker (eager execution).
    from durable_workflows import _chain, _worker

    continue_here = _worker.continue_here
    run_activity_here = _chain.run_activity_here

    def held_continue_here(task: Any, **kwargs: Any) -> Any:
        if task is not None:
            hold(task.run_id)
            hold_workflow(task.run_id)
        return continue_here(task, **kwargs)

    def held_run_activity_here(start: Any) -> Any:
        hold(f"activity-{start.activity_type}")
        return run_activity_here(start)

    for module in (_worker, _chain):
        module.continue_here = held_continue_here  # type: ignore[attr-defined]
    _chain.run_activity_here = held_run_activity_here  # type: ignore[assignment]


def _hold_after_history_insert(pause_dir: Path) -> None:
    def hold_after_insert(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        # The ORM's INSERT, or the store's one-statement save on PostgreSQL (statements.py):
        # either way the execution's id is the first parameter.
        appends = sql.startswith('INSERT INTO "durable_workflows_historyevent"') or (
            sql.startswith("WITH run AS") and 'INSERT INTO "durable_workflows_historyevent"' in sql
        )
        if appends and params:
            first = params[0]
            # Django may send one array per column (UNNEST) or one value per placeholder.
            execution_pk = first[0] if isinstance(first, list | tuple) else first
            pause = pause_dir / f"insert-{execution_pk}"
            if pause.exists():
                backend_pid = context["connection"].connection.info.backend_pid
                (pause_dir / f"insert-{execution_pk}.held").write_text(str(backend_pid))
                while pause.exists():
                    time.sleep(0.05)
        return result

    def install_wrapper(sender: Any, connection: Any, **kwargs: Any) -> None:
        if hold_after_insert not in connection.execute_wrappers:
            connection.execute_wrappers.append(hold_after_insert)

    connection_created.connect(install_wrapper, weak=False)
