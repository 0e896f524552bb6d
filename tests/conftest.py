"""Fixtures: a real PostgreSQL test database, real Celery workers and beat on a real broker."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from . import procs


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker) -> Iterator[None]:
    """Always create the test database (pytest-django only does for django_db-marked tests).

    It is dropped and recreated at the start of the next session rather than at the
    end of this one, when worker processes may still hold connections to it.
    """
    from django.test.utils import setup_databases

    with django_db_blocker.unblock():
        setup_databases(verbosity=0, interactive=False, aliases={"default"})
    yield


@pytest.fixture(scope="session")
def live_db(django_db_setup, django_db_blocker) -> Iterator[None]:
    """The test database, unwrapped: writes commit, so worker processes see them.

    Tests using it must use unique workflow ids; nothing is rolled back.
    """
    with django_db_blocker.unblock():
        yield


@pytest.fixture(scope="session")
def pause_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="dw-pause-"))


@pytest.fixture(scope="session")
def worker_env(live_db, pause_dir) -> dict[str, str]:
    """Environment for child processes: the same test database and broker as this process."""
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DATABASE_URL=(
            f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        DW_TEST_PAUSE_DIR=str(pause_dir),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="session")
def clean_broker() -> None:
    """Start every session with an empty broker database."""
    from django.conf import settings

    url = settings.CELERY_BROKER_URL
    if url.startswith("redis://"):
        import redis

        redis.Redis.from_url(url).flushdb()


@pytest.fixture(scope="session")
def beat(worker_env, clean_broker) -> Iterator[procs.Process]:
    from durable_workflows._beat import install_tick

    install_tick()
    process = procs.start_beat(worker_env)
    yield process
    process.stop()


@pytest.fixture(scope="session")
def workers(worker_env, beat) -> Iterator[list[procs.Process]]:
    """Two worker processes on the default queue, and the beat running the tick."""
    started = [procs.start_worker(worker_env, ["default"], f"session-worker-{i}") for i in (1, 2)]
    yield started
    for process in started:
        process.stop()


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:12]
