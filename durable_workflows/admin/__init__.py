"""The Django admin as the workflow UI: executions, their histories, and what to send them.

Only executions are registered. History events, activity tasks and timers are
shown on an execution's page and have no admin of their own, so no admin path
can add, change or delete them.
"""

from .executions import WorkflowExecutionAdmin

__all__ = ["WorkflowExecutionAdmin"]
