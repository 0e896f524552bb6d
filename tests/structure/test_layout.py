"""The architecture's rules, checked: layering, no import cycles, the public surface,
migrations in sync.

The layering rules themselves are import-linter contracts in pyproject.toml
([tool.importlinter]); these tests run them, so a broken layer fails the suite as well
as ``make lint``.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "durable_workflows"


def test_the_import_contracts_hold():
    """Every contract in [tool.importlinter]: the engine is pure, adapters use the services, ..."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, f"lint-imports failed:\n{out.stdout}{out.stderr}"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """(module of the package imported, line) for every import statement in the file.

    Relative imports are resolved; ``from . import x`` imports module ``x`` when ``x`` is
    one; imports inside functions and under ``if TYPE_CHECKING:`` count like any other.
    """

    def existing(dotted: str) -> str | None:
        parts = dotted.split(".")
        while parts and ".".join(parts) not in known:
            parts.pop()
        return ".".join(parts) or None

    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            targets = [f"{source}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            resolved = existing(target) if target.startswith(PACKAGE.name) else None
            if resolved and resolved != name:
                yield resolved, node.lineno


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """An import cycle as [a, b, ..., a]: the shortest through the first module (by name)
    that is on one. None if there is none."""
    for start in sorted(graph):
        paths = {start: [start]}
        queue = [start]
        while queue:
            current = queue.pop(0)
            for nxt in sorted(graph[current]):
                if nxt == start:
                    return [*paths[current], start]
                if nxt not in paths:
                    paths[nxt] = [*paths[current], nxt]
                    queue.append(nxt)
    return None


def test_no_module_of_the_package_takes_part_in_an_import_cycle():
    """Imports inside functions and under ``if TYPE_CHECKING:`` count: a deferred import
    hides a cycle from the interpreter, not from the reader, and each one is a layer
    reaching up."""
    known = package_modules()
    graph: dict[str, dict[str, int]] = {name: {} for name in known}
    for name, path in known.items():
        for target, line in imports_of(name, path, known):
            graph[name].setdefault(target, line)
    cycle = find_cycle(graph)
    if cycle:
        steps = "\n".join(
            f"  {a} -> {b}  ({known[a].relative_to(ROOT)}:{graph[a][b]})"
            for a, b in pairwise(cycle)
        )
        print(f"Import cycle:\n{steps}")
        pytest.fail(f"import cycle: {' -> '.join(cycle)}\n{steps}")


PUBLIC_SURFACE = {
    "durable_workflows": [
        "Client",
        "RetryPolicy",
        "WorkflowHandle",
        "WorkflowIDConflictPolicy",
        "WorkflowIDReusePolicy",
        "__version__",
        "activity",
        "exceptions",
        "workflow",
    ],
    "durable_workflows.workflow": [
        "ActivityHandle",
        "ChildWorkflowCancellationType",
        "ChildWorkflowHandle",
        "ContinueAsNewError",
        "ExternalWorkflowHandle",
        "HandlerUnfinishedPolicy",
        "ParentClosePolicy",
        "ParentInfo",
        "UnfinishedSignalHandlersWarning",
        "UnfinishedUpdateHandlersWarning",
        "WorkflowInfo",
        "all_handlers_finished",
        "continue_as_new",
        "defn",
        "deprecate_patch",
        "execute_activity",
        "execute_activity_method",
        "execute_child_workflow",
        "execute_local_activity",
        "get_external_workflow_handle",
        "info",
        "init",
        "logger",
        "memo",
        "memo_value",
        "now",
        "patched",
        "query",
        "random",
        "run",
        "signal",
        "sleep",
        "start_activity",
        "start_activity_method",
        "start_child_workflow",
        "start_local_activity",
        "time",
        "unsafe",
        "update",
        "upsert_memo",
        "upsert_search_attributes",
        "uuid4",
        "wait_condition",
    ],
    "durable_workflows.activity": [
        "Concurrency",
        "Info",
        "RateLimit",
        "defn",
        "heartbeat",
        "in_activity",
        "info",
        "is_cancelled",
        "logger",
        "raise_complete_async",
    ],
    "durable_workflows.client": [
        "ActivityCompletionHandle",
        "AsyncActivityCancelledError",
        "AsyncActivityHandle",
        "AsyncClient",
        "AsyncUpdateHandle",
        "AsyncWorkflowHandle",
        "Client",
        "WithStartWorkflowOperation",
        "WorkflowDescription",
        "WorkflowExecutionDescription",
        "WorkflowExecutionStatus",
        "WorkflowFailureError",
        "WorkflowHandle",
        "WorkflowHistory",
        "WorkflowQueryFailedError",
        "WorkflowSummary",
        "WorkflowUpdateFailedError",
        "WorkflowUpdateHandle",
        "WorkflowUpdateStage",
    ],
    "durable_workflows.codec": ["PayloadCodec"],
    "durable_workflows.common": [
        "ActivityType",
        "PendingActivity",
        "PendingActivityInfo",
        "PendingActivityState",
        "PendingTimer",
        "RawWorkflowDescription",
        "RetryPolicy",
        "SearchAttributeIndexedValueType",
        "SearchAttributeKey",
        "SearchAttributePair",
        "SearchAttributeUpdate",
        "TypedSearchAttributes",
        "WorkflowDescription",
        "WorkflowExecutionStatus",
        "WorkflowIDConflictPolicy",
        "WorkflowIDReusePolicy",
        "WorkflowSummary",
        "WorkflowUpdateStage",
    ],
    "durable_workflows.schedules": ["schedule_workflow"],
    "durable_workflows.testing": [
        "ActivityEnvironment",
        "ReplayResult",
        "Replayer",
        "WorkflowEnvironment",
        "WorkflowHistory",
        "WorkflowTaskFailedError",
    ],
    "durable_workflows.worker": ["Worker"],
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC_SURFACE))
def test_public_names_are_pinned(module_name):
    """Removing or adding a public name must be a deliberate change to this list."""
    import importlib

    module = importlib.import_module(module_name)
    assert sorted(module.__all__) == sorted(PUBLIC_SURFACE[module_name])
    for name in module.__all__:
        assert hasattr(module, name), f"{module_name}.{name} is exported but missing"


def test_importing_the_package_loads_no_models():
    import subprocess
    import sys

    code = (
        "import sys, durable_workflows, durable_workflows.workflow, durable_workflows.activity,"
        " durable_workflows.client;"
        "print('durable_workflows.models' in sys.modules, 'django.db.models' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


@pytest.mark.django_db
def test_migrations_are_in_sync_with_the_models():
    call_command("makemigrations", "durable_workflows", "--check", "--dry-run", verbosity=0)


@pytest.mark.parametrize(
    "module", ["durable_workflows.client", "durable_workflows.testing", "durable_workflows.worker"]
)
def test_public_modules_import_before_django_is_set_up(module):
    """Scripts ported from Temporal import these at the top, before django.setup()."""
    code = f"import {module}; from django.apps import apps; assert not apps.ready"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
