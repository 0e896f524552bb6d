"""Kombu's filesystem broker, made safe for several processes: every file appears whole.

The example runs with no servers, so its Celery broker is a folder (``./var/broker``).
Kombu's own filesystem transport writes a message file in place and a consumer may
take it before the write has finished; it rewrites an exchange's binding table by
truncating the file first, so a publisher routing a message at that moment reads an
empty table. Either way a process reads half a JSON document and the worker stops with
``Unrecoverable error: JSONDecodeError`` (seen three times in 30 minutes of the example).

Here every file is written under another name and renamed into place
(``os.replace`` is atomic on one filesystem), a consumer claims a message by renaming
it (one consumer wins), and binding-table updates are serialized by a lock file. The
database stays the truth: a lost message is a late hint, which the tick repairs.
"""

from __future__ import annotations

import fcntl
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.transport.virtual import Empty
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

#: Work folders inside the data folder, on its filesystem so that renames are atomic.
STAGING = ".staging"
CLAIMED = ".claimed"


def _write_whole(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or all of the new one."""
    staging = path.parent / STAGING
    staging.mkdir(exist_ok=True)
    temporary = staging / f"{uuid.uuid4()}.tmp"
    with open(temporary, "wb") as file:
        file.write(data)
    os.replace(temporary, path)


class Channel(filesystem.Channel):
    """A filesystem channel whose messages and binding tables are replaced, never edited."""

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        try:
            _write_whole(Path(self.data_folder_out) / name, str_to_bytes(dumps(payload)))
        except OSError as exc:
            raise ChannelError(f"Cannot add message {name!r} to {self.data_folder_out}") from exc

    def _get(self, queue: str) -> Any:
        folder = Path(self.data_folder_in)
        claimed = folder / CLAIMED
        claimed.mkdir(exist_ok=True)
        wanted = f"{queue}.msg"
        for name in sorted(os.listdir(folder)):
            if name.partition(".")[2] != wanted:
                continue
            mine = claimed / f"{uuid.uuid4()}-{name}"
            try:
                os.replace(folder / name, mine)  # the one consumer whose rename succeeds
            except FileNotFoundError:
                continue  # another consumer took it
            try:
                payload = mine.read_bytes()
            finally:
                mine.unlink(missing_ok=True)
            return loads(bytes_to_str(payload))
        raise Empty()

    @contextmanager
    def _table_lock(self, exchange: str) -> Iterator[Path]:
        table = self._exchange_file(exchange)
        self.control_folder.mkdir(exist_ok=True)
        with open(table.with_name(table.name + ".lock"), "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield table
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _update_table(self, exchange: str, change: Any) -> None:
        with self._table_lock(exchange) as table:
            rows = self.get_table(exchange)
            updated = change(rows)
            if updated != rows:
                _write_whole(table, str_to_bytes(dumps(updated)))

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        row = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._update_table(exchange, lambda rows: rows if row in rows else [row, *rows])

    def _delete(
        self, queue: str, exchange: str, routing_key: str, pattern: str, *args: Any, **kwargs: Any
    ) -> None:
        # The virtual channel's own bookkeeping, then this binding out of the table.
        super(filesystem.Channel, self)._delete(
            queue, exchange, routing_key, pattern, *args, **kwargs
        )
        row = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        self._update_table(exchange, lambda rows: [r for r in rows if r != row])


class Transport(filesystem.Transport):
    """Set ``CELERY_BROKER_TRANSPORT = "example_project.broker:Transport"``."""

    Channel = Channel
