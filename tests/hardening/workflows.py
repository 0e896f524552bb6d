"""Workflows the hardening tests start on queues no worker consumes (so only their
definitions matter: the in-process checks, and queries answered by replay)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from durable_workflows import workflow
from durable_workflows.exceptions import ApplicationError


@dataclass
class Item:
    sku: str
    quantity: int


@workflow.defn(name="HardeningTyped")
class TypedWorkflow:
    """Parameters of every basic kind, for the strict argument checks."""

    def __init__(self) -> None:
        self.total = 0.0

    @workflow.run
    async def run(self, name: str, amount: float, count: int, flag: bool) -> str:
        await workflow.wait_condition(lambda: False)
        return name

    @workflow.signal
    def add(self, amount: float) -> None:
        self.total += amount

    @workflow.signal
    def add_items(self, items: list[Item], note: str | None) -> None:
        pass

    @workflow.query
    def times(self, factor: int) -> float:
        return self.total * factor

    @workflow.update
    def set_count(self, count: int) -> int:
        return count

    @set_count.validator
    def _check_count(self, count: int) -> None:
        pass


@workflow.defn(name="HardeningAnything")
class AnythingWorkflow:
    """Takes any JSON: the payload checks (depth, NUL, size) are the only ones."""

    @workflow.run
    async def run(self, value: Any) -> Any:
        await workflow.wait_condition(lambda: False)
        return value

    @workflow.signal
    def poke(self, value: Any) -> None:
        pass

    @workflow.query
    def echo(self, value: Any) -> Any:
        return value

    @workflow.update
    def store(self, value: Any) -> Any:
        return value


@workflow.defn(name="HardeningLeaky")
class LeakyWorkflow:
    """Handlers that raise: a bug (internal text) or an ApplicationError (for the caller)."""

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)

    @workflow.query
    def broken(self) -> str:
        raise RuntimeError("secret-internal-detail: db password is hunter2")

    @workflow.query
    def refuses(self) -> str:
        raise ApplicationError("no such order: 42", type="NotFound")

    @workflow.update
    def change(self, value: int) -> int:
        return value

    @change.validator
    def _validate_change(self, value: int) -> None:
        if value < 0:
            raise RuntimeError("secret-internal-detail: validator saw the internals")
        if value == 0:
            raise ApplicationError("value must not be zero")
