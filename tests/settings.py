"""Test settings: the example project on PostgreSQL and Redis, plus the test app.

DATABASE_URL and CELERY_BROKER_URL override the defaults below.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/durable_workflows")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/11")

from example_project.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]  # noqa: F405

DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("DW_TEST_CONN_MAX_AGE", "0"))  # noqa: F405
if os.environ.get("DW_TEST_APPLICATION_NAME"):  # lets a test find a worker's connections
    DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = os.environ[  # noqa: F405
        "DW_TEST_APPLICATION_NAME"
    ]
DATABASES["default"]["TEST"] = {  # noqa: F405
    "NAME": os.environ.get("TEST_DATABASE_NAME", "test_durable_workflows")
}

DURABLE_WORKFLOWS = {
    "DEFAULT_TASK_QUEUE": "default",
    # Tests kill workers and lose messages on purpose; recover quickly.
    "REDRIVE_AFTER": float(os.environ.get("DW_TEST_REDRIVE_AFTER", "3")),
    "WORKFLOW_TASK_RETRY_MAX_INTERVAL": 2,
    # The time and failure tests give some workers no countdown fast path (timers live only in rows)
    # and some tick callers small batches.
    "COUNTDOWN_FAST_PATH_MAX": float(os.environ.get("DW_TEST_FAST_PATH_MAX", "60")),
    "TICK_BATCH_SIZE": int(os.environ.get("DW_TEST_TICK_BATCH_SIZE", "500")),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"durable_workflows": {"handlers": ["console"], "level": "INFO"}},
}
