"""The baseline: plain Celery tasks, with the same delivery options as durable_workflows' hints."""

from __future__ import annotations

import json
import time
from functools import cache

import redis
from celery import shared_task
from django.conf import settings

_HINT = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


@cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


@shared_task(name="bench.noop", **_HINT)
def noop() -> None:
    return None


@shared_task(name="bench.done", **_HINT)
def done(key: str, tag: int) -> None:
    """The last link of a chain: report when it ran."""
    _redis().lpush(key, json.dumps([tag, time.time()]))
