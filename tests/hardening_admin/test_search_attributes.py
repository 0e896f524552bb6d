"""Search attribute filters work on PostgreSQL and on SQLite, through every adapter.

On SQLite a filter value was compared as JSON text, so ``?search=customer:c-7`` was a 500
("malformed JSON") and ``workflow list --search customer=c-7`` a traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys

from tests.procs import ROOT

from . import search_scenario


def test_search_filters_compare_as_text_on_postgresql(live_db, unique):
    search_scenario.check(unique)


def test_search_filters_compare_as_text_on_sqlite(tmp_path, unique):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_BROKER_URL": "memory://",
        "DURABLE_EXAMPLE_VAR_DIR": str(tmp_path / "var"),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.hardening_admin.run",
            "--migrate",
            "tests.hardening_admin.search_scenario:check",
            unique,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "sqlite"
