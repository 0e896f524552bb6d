"""The embedded default's broker (a folder) under several processes at once.

Kombu's own filesystem transport lets a consumer read a message file, or a publisher a
binding table, before it is completely written: ``JSONDecodeError`` in 5 of 6 runs of
this scenario on the development machine. The example's transport must lose, duplicate
and garble nothing.
"""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from typing import Any

from kombu import Connection, Exchange, Queue
from kombu.transport.virtual import Empty

TRANSPORT = "example_project.broker:Transport"
PUBLISHERS, MESSAGES_EACH = 3, 1000


def _connection(folder: str) -> Connection:
    return Connection(
        "filesystem://",
        transport=TRANSPORT,
        transport_options={
            "data_folder_in": folder,
            "data_folder_out": folder,
            "control_folder": f"{folder}/control",
        },
    )


def _publish(folder: str, errors: Any) -> None:
    try:
        with _connection(folder) as connection:
            producer = connection.Producer()
            for index in range(MESSAGES_EACH):
                # A direct exchange reads its binding table to route every message.
                producer.publish({"i": index, "pad": "x" * 2000}, exchange="hints", routing_key="q")
    except Exception as exc:
        errors.put(f"publisher: {exc!r}")


def _rebind(folder: str, stop: Any, errors: Any) -> None:
    try:
        with _connection(folder) as connection:
            channel = connection.channel()
            count = 0
            while not stop.is_set():
                name = f"extra{count % 50}"
                Queue(name, Exchange("hints", "direct"), routing_key=name)(channel).declare()
                count += 1
    except Exception as exc:
        errors.put(f"binder: {exc!r}")


def _consume(folder: str, stop: Any, received: Any, errors: Any) -> None:
    count = 0
    try:
        with _connection(folder) as connection:
            channel = connection.channel()
            while not stop.is_set():
                try:
                    message = channel._get("q")
                except Empty:
                    time.sleep(0.001)
                    continue
                assert message["body"]
                count += 1
    except Exception as exc:
        errors.put(f"consumer: {exc!r}")
    received.put(count)


def test_publishers_a_rebinding_worker_and_two_consumers_lose_and_garble_nothing(tmp_path):
    folder = str(tmp_path)
    Path(folder, "control").mkdir()
    with _connection(folder) as connection:
        Queue("q", Exchange("hints", "direct"), routing_key="q")(connection.channel()).declare()
    context = multiprocessing.get_context("spawn")
    errors, received, stop = context.Queue(), context.Queue(), context.Event()
    publishers = [context.Process(target=_publish, args=(folder, errors)) for _ in range(3)]
    others = [context.Process(target=_rebind, args=(folder, stop, errors))] + [
        context.Process(target=_consume, args=(folder, stop, received, errors)) for _ in range(2)
    ]
    for process in publishers + others:
        process.start()
    for process in publishers:
        process.join(timeout=120)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(Path(folder).glob("*.q.msg")):
        time.sleep(0.1)
    stop.set()
    for process in others:
        process.join(timeout=30)
    found_errors = []
    while not errors.empty():
        found_errors.append(errors.get())
    assert found_errors == []
    total = sum(received.get(timeout=5) for _ in range(2))
    assert total == PUBLISHERS * MESSAGES_EACH  # each message exactly once
    assert not list(Path(folder).glob("*.q.msg"))
