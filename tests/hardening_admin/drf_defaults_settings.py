"""The suite's settings with REST framework left at its defaults, as a project set up by
the README has it: ``DEFAULT_SCHEMA_CLASS`` is REST framework's own ``AutoSchema``."""

from tests.settings import *  # noqa: F403

REST_FRAMEWORK: dict[str, object] = {}
