"""The architecture's rules, checked: layering, the public surface, migrations in sync."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.core.management import call_command

PACKAGE = Path(__file__).resolve().parents[2] / "durable_workflows"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted((PACKAGE / "_engine").glob("*.py")), ids=lambda p: p.name)
def test_the_engine_imports_neither_django_nor_celery(path):
    forbidden = {
        name for name in imported_modules(path) if name.split(".")[0] in ("django", "celery")
    }
    assert not forbidden, f"{path.name} imports {sorted(forbidden)}"


@pytest.mark.parametrize("name", ["workflow.py", "activity.py", "common.py", "exceptions.py"])
def test_modules_used_inside_workflows_import_no_django(name):
    roots = {m.split(".")[0] for m in imported_modules(PACKAGE / name)}
    assert "django" not in roots and "celery" not in roots


def test_only_the_api_package_imports_rest_framework():
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "api" not in path.relative_to(PACKAGE).parts
        and any(m.split(".")[0] == "rest_framework" for m in imported_modules(path))
    ]
    assert offenders == []


PUBLIC_SURFACE = {
    "durable_workflows": [
        "Client",
        "RetryPolicy",
        "WorkflowHandle",
        "WorkflowIDReusePolicy",
        "__version__",
        "activity",
        "exceptions",
        "workflow",
    ],
    "durable_workflows.workflow": [
        "ActivityHandle",
        "WorkflowInfo",
        "defn",
        "deprecate_patch",
        "execute_activity",
        "info",
        "logger",
        "now",
        "patched",
        "query",
        "random",
        "run",
        "signal",
        "sleep",
        "start_activity",
        "time",
        "unsafe",
        "update",
        "uuid4",
        "wait_condition",
    ],
    "durable_workflows.activity": [
        "Info",
        "defn",
        "heartbeat",
        "in_activity",
        "info",
        "is_cancelled",
        "logger",
    ],
    "durable_workflows.client": [
        "AsyncClient",
        "AsyncWorkflowHandle",
        "Client",
        "WorkflowDescription",
        "WorkflowHandle",
        "WorkflowHistory",
    ],
    "durable_workflows.codec": ["PayloadCodec"],
    "durable_workflows.common": ["RetryPolicy", "WorkflowIDReusePolicy"],
    "durable_workflows.schedules": ["schedule_workflow"],
    "durable_workflows.testing": [
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
