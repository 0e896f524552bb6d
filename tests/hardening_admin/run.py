"""Run one function of a test module in a fresh Django process, on whatever database and
settings the environment names (``DJANGO_SETTINGS_MODULE``, ``DATABASE_URL``).

``python -m tests.hardening_admin.run [--migrate] module:function ARG...`` sets Django
up, optionally migrates, calls ``function(*ARGS)`` and prints what it returns.
"""

from __future__ import annotations

import importlib
import sys

import django


def main(argv: list[str]) -> None:
    migrate = argv[:1] == ["--migrate"]
    if migrate:
        argv = argv[1:]
    target, *args = argv
    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    module_name, function_name = target.split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    print(function(*args))


if __name__ == "__main__":
    main(sys.argv[1:])
