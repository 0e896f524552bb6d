"""The database work of one workflow step, counted (a structural check, not a timing).

A one-activity workflow, started by the client and run to its close by the worker path
(in this process, as a worker with eager activities and the sticky cache runs it): its
transactions and SQL statements are counted from the connection. The client's waits for
the result are not part of the count.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import connection

from durable_workflows import Client
from durable_workflows.testing import WorkflowEnvironment
from tests.testapp.workflows import DoubleWorkflow

pytestmark = pytest.mark.usefixtures("live_db")

client = Client()

MAX_COMMITS = 4
MAX_STATEMENTS = 15


@dataclass
class Counted:
    statements: list[str] = field(default_factory=list)
    commits: int = 0

    def report(self) -> str:
        lines = [f"{self.commits} commits, {len(self.statements)} statements:"]
        lines += [f"  {sql[:150]}" for sql in self.statements]
        return "\n".join(lines)


@contextmanager
def counting() -> Iterator[Counted]:
    counted = Counted()

    def record(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        counted.statements.append(re.sub(r"\s+", " ", sql))
        return execute(sql, params, many, context)

    real_commit = connection.commit

    def commit() -> None:
        counted.commits += 1
        real_commit()

    connection.commit = commit  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(record):
            yield counted
    finally:
        del connection.commit


def test_one_activity_workflow_fits_the_statement_budget() -> None:
    with WorkflowEnvironment():
        workflow_id = f"budget-{uuid.uuid4().hex[:12]}"
        with counting() as counted:
            handle = client.start_workflow(
                DoubleWorkflow.run, 21, id=workflow_id, task_queue="default"
            )
        assert handle.result() == 42
    print(counted.report())
    assert counted.commits <= MAX_COMMITS, counted.report()
    assert len(counted.statements) <= MAX_STATEMENTS, counted.report()
