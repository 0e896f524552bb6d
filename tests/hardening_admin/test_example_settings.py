"""The example project runs with DEBUG off unless DJANGO_DEBUG=1 asks for it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.procs import ROOT


def debug_setting(tmp_path, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "DJANGO_DEBUG"}
    environ.update(env, DURABLE_EXAMPLE_VAR_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", "import example_project.settings as s; print(s.DEBUG)"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_debug_is_off_by_default(tmp_path):
    assert debug_setting(tmp_path) == "False"


@pytest.mark.parametrize(("value", "expected"), [("1", "True"), ("0", "False"), ("", "False")])
def test_debug_is_on_only_when_asked_for(tmp_path, value, expected):
    assert debug_setting(tmp_path, DJANGO_DEBUG=value) == expected
