"""Value types shared by workflow code and clients: retry and id-reuse policies, run
statuses and update stages, typed search attributes, and what the client reports about
runs (summaries, descriptions)."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from .exceptions import FailureStructure

__all__ = [
    "ActivityType",
    "PendingActivity",
    "PendingActivityInfo",
    "PendingActivityState",
    "PendingTimer",
    "RawWorkflowDescription",
    "RetryPolicy",
    "SearchAttributeIndexedValueType",
    "SearchAttributeKey",
    "SearchAttributePair",
    "SearchAttributeUpdate",
    "TypedSearchAttributes",
    "WorkflowDescription",
    "WorkflowExecutionStatus",
    "WorkflowIDConflictPolicy",
    "WorkflowIDReusePolicy",
    "WorkflowSummary",
    "WorkflowUpdateStage",
]


@dataclass(frozen=True, init=False)
class RetryPolicy:
    """How a failed activity attempt is retried (Temporal's defaults and meaning).

    Args:
        initial_interval: Wait before the first retry.
        backoff_coefficient: Each wait is the previous one times this (>= 1).
        maximum_interval: Cap on the wait; defaults to 100 x ``initial_interval``.
        maximum_attempts: Total attempts including the first; 0 means unlimited.
        non_retryable_error_types: ``ApplicationError.type`` values (for other
            exceptions: their class name) that stop retries at once.
        max_attempts: Accepted as an alias of ``maximum_attempts``, because the
            documents this project grew from spell it that way.
    """

    initial_interval: timedelta
    backoff_coefficient: float
    maximum_interval: timedelta | None
    maximum_attempts: int
    non_retryable_error_types: tuple[str, ...] = field(default=())

    def __init__(
        self,
        initial_interval: timedelta = timedelta(seconds=1),
        backoff_coefficient: float = 2.0,
        maximum_interval: timedelta | None = None,
        maximum_attempts: int = 0,
        non_retryable_error_types: Sequence[str] | None = None,
        *,
        max_attempts: int | None = None,
    ) -> None:
        if max_attempts is not None:
            if maximum_attempts and maximum_attempts != max_attempts:
                raise ValueError("Give maximum_attempts or max_attempts, not both.")
            maximum_attempts = max_attempts
        if initial_interval <= timedelta(0):
            raise ValueError("RetryPolicy.initial_interval must be positive.")
        if backoff_coefficient < 1:
            raise ValueError("RetryPolicy.backoff_coefficient must be at least 1.0.")
        if maximum_attempts < 0:
            raise ValueError("RetryPolicy.maximum_attempts must be 0 (unlimited) or more.")
        if maximum_interval is not None and maximum_interval < initial_interval:
            raise ValueError("RetryPolicy.maximum_interval must not be below initial_interval.")
        if isinstance(non_retryable_error_types, str):
            raise ValueError("RetryPolicy.non_retryable_error_types must be a list of names.")
        object.__setattr__(self, "initial_interval", initial_interval)
        object.__setattr__(self, "backoff_coefficient", float(backoff_coefficient))
        object.__setattr__(self, "maximum_interval", maximum_interval)
        object.__setattr__(self, "maximum_attempts", int(maximum_attempts))
        object.__setattr__(
            self, "non_retryable_error_types", tuple(non_retryable_error_types or ())
        )

    def retry_delay(self, attempt: int) -> timedelta:
        """The wait after failed attempt number ``attempt`` (1-based) before the next one."""
        cap = self.maximum_interval or self.initial_interval * 100
        try:
            factor = self.backoff_coefficient ** (attempt - 1)
        except OverflowError:  # float power past 1e308, after about a thousand attempts
            return cap
        seconds = self.initial_interval.total_seconds() * factor
        # Compare as seconds: timedelta() itself overflows after about fifty doublings.
        return cap if seconds >= cap.total_seconds() else timedelta(seconds=seconds)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form, as recorded in ActivityTaskScheduled."""
        return {
            "initial_interval": self.initial_interval.total_seconds(),
            "backoff_coefficient": self.backoff_coefficient,
            "maximum_interval": (
                self.maximum_interval.total_seconds() if self.maximum_interval else None
            ),
            "maximum_attempts": self.maximum_attempts,
            "non_retryable_error_types": list(self.non_retryable_error_types),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RetryPolicy:
        """Rebuild a policy from :meth:`to_dict` output."""
        maximum_interval = data.get("maximum_interval")
        return cls(
            initial_interval=timedelta(seconds=data["initial_interval"]),
            backoff_coefficient=data["backoff_coefficient"],
            maximum_interval=(
                timedelta(seconds=maximum_interval) if maximum_interval is not None else None
            ),
            maximum_attempts=data["maximum_attempts"],
            non_retryable_error_types=data.get("non_retryable_error_types") or (),
        )


class WorkflowIDReusePolicy(enum.StrEnum):
    """Whether a new run may reuse the id of a *closed* one (a running id is always refused)."""

    ALLOW_DUPLICATE = "ALLOW_DUPLICATE"
    ALLOW_DUPLICATE_FAILED_ONLY = "ALLOW_DUPLICATE_FAILED_ONLY"
    REJECT_DUPLICATE = "REJECT_DUPLICATE"


class WorkflowIDConflictPolicy(enum.StrEnum):
    """What a start does when a run of the id is already RUNNING (Temporal's names).

    ``FAIL`` (the default): raise ``WorkflowAlreadyStartedError``. ``USE_EXISTING``: start
    nothing and return a handle on the running run. ``TERMINATE_EXISTING``: terminate it
    and start the new run, in one transaction.
    """

    FAIL = "FAIL"
    USE_EXISTING = "USE_EXISTING"
    TERMINATE_EXISTING = "TERMINATE_EXISTING"


class ParentClosePolicy(enum.StrEnum):
    """What happens to a child workflow when its parent closes (as Temporal's)."""

    TERMINATE = "TERMINATE"
    ABANDON = "ABANDON"
    REQUEST_CANCEL = "REQUEST_CANCEL"


class ChildWorkflowCancellationType(enum.StrEnum):
    """How a parent waits when it cancels a child (as Temporal's).

    ``WAIT_CANCELLATION_COMPLETED`` (the default): the child's handle resolves once the
    child has closed. ``TRY_CANCEL``: at once, once the request is recorded.
    ``ABANDON``: no cancellation is sent; the handle resolves at once.
    """

    ABANDON = "ABANDON"
    TRY_CANCEL = "TRY_CANCEL"
    WAIT_CANCELLATION_COMPLETED = "WAIT_CANCELLATION_COMPLETED"


class WorkflowExecutionStatus(enum.StrEnum):
    """A run's status (Temporal's names). Each member equals its name as a string, so
    ``describe().status == "RUNNING"`` holds as well as ``... is WorkflowExecutionStatus.RUNNING``.
    """

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    TERMINATED = "TERMINATED"
    CONTINUED_AS_NEW = "CONTINUED_AS_NEW"
    TIMED_OUT = "TIMED_OUT"


class WorkflowUpdateStage(enum.IntEnum):
    """How far an update has gone, for ``start_update(wait_for_stage=...)`` (Temporal's
    names and numbers, so stages compare in order: ``ADMITTED < ACCEPTED < COMPLETED``)."""

    #: Received, not yet validated or recorded.
    ADMITTED = 1
    #: Validated and recorded in the history: its handler will run.
    ACCEPTED = 2
    #: Its handler has finished (with a result or a failure).
    COMPLETED = 3


class PendingActivityState(enum.IntEnum):
    """``raw_description.pending_activities[i].state`` (Temporal's proto enum names)."""

    PENDING_ACTIVITY_STATE_UNSPECIFIED = 0
    PENDING_ACTIVITY_STATE_SCHEDULED = 1
    PENDING_ACTIVITY_STATE_STARTED = 2
    PENDING_ACTIVITY_STATE_CANCEL_REQUESTED = 3


@dataclass(frozen=True)
class PendingActivity:
    """An activity of a running workflow that has not finished yet."""

    activity_id: str
    activity_type: str
    status: str
    attempt: int
    scheduled_time: datetime
    started_time: datetime | None
    last_failure: dict[str, Any] | None
    heartbeat_details: list[Any] | None
    last_heartbeat_time: datetime | None
    next_deadline: datetime | None
    maximum_attempts: int = 0
    cancel_requested: bool = False
    last_worker_identity: str = ""
    #: Why it has not started, when a limit holds it back ("" otherwise), e.g.
    #: ``"a concurrency slot of call_crm:42 (1 of 1 in use)"``.
    waiting_for: str = ""


@dataclass(frozen=True)
class ActivityType:
    """An activity's type, as Temporal's descriptions nest it (``activity_type.name``)."""

    name: str


@dataclass(frozen=True)
class PendingActivityInfo:
    """One pending activity in Temporal's ``raw_description.pending_activities`` shape.

    The field names are Temporal's; the values are Python's: times are ``datetime``
    (Temporal's are protobuf timestamps), ``heartbeat_details`` are the decoded values
    (Temporal's are payloads), ``last_failure`` is a failure structure or None (Temporal's
    is an empty message when there is none).
    """

    activity_id: str
    activity_type: ActivityType
    state: PendingActivityState
    attempt: int
    maximum_attempts: int
    scheduled_time: datetime
    last_started_time: datetime | None
    last_heartbeat_time: datetime | None
    heartbeat_details: list[Any]
    last_failure: FailureStructure | None
    last_worker_identity: str


@dataclass(frozen=True)
class RawWorkflowDescription:
    """What ``describe().raw_description`` offers of Temporal's DescribeWorkflowExecution
    response: its ``pending_activities``."""

    pending_activities: list[PendingActivityInfo]


@dataclass(frozen=True)
class PendingTimer:
    """A durable timer of a running workflow that has not fired yet."""

    timer_id: str
    fire_at: datetime


@dataclass(frozen=True)
class WorkflowSummary:
    """One run as a listing shows it (``client.list_workflows()``): no payloads."""

    workflow_id: str
    run_id: str
    workflow_type: str
    task_queue: str
    status: WorkflowExecutionStatus
    start_time: datetime
    close_time: datetime | None
    execution_timeout: float | None
    history_length: int
    search_attributes: dict[str, Any]


@dataclass(frozen=True)
class RunReference:
    """Another run, by id: a parent, a child, or a neighbour in a continue-as-new chain."""

    workflow_id: str
    run_id: str
    status: str


@dataclass(frozen=True)
class WorkflowDescription(WorkflowSummary):
    """What ``handle.describe()`` returns: the summary, payloads, pending work and the
    runs this one is linked to (its parent and children, the runs before and after it in
    a continue-as-new chain)."""

    input: list[Any]
    result: Any
    failure: dict[str, Any] | None
    task_failure: dict[str, Any] | None
    memo: dict[str, Any]
    pending_activities: list[PendingActivity] = field(default_factory=list)
    pending_timers: list[PendingTimer] = field(default_factory=list)
    parent: RunReference | None = None
    continued_from: RunReference | None = None
    continued_as: RunReference | None = None
    #: The most recent children (at most RELATED_RUNS_SHOWN).
    children: list[RunReference] = field(default_factory=list)


# --- search attributes (Temporal's typed form) ---------------------------------------------

#: A search attribute's name: letters, digits, ``_`` and ``-``, starting with a letter or
#: ``_``, up to 100 characters. The same names are usable in every filter.
SEARCH_ATTRIBUTE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]{0,99}")


class SearchAttributeIndexedValueType(enum.IntEnum):
    """The type of a search attribute's value (Temporal's names and numbers).

    Values are stored as JSON: keyword and text as strings, datetimes as ISO 8601 strings
    in UTC (so they order as text), keyword lists as arrays of strings.
    """

    TEXT = 1
    KEYWORD = 2
    INT = 3
    DOUBLE = 4
    BOOL = 5
    DATETIME = 6
    KEYWORD_LIST = 7


_Type = SearchAttributeIndexedValueType


@dataclass(frozen=True)
class SearchAttributeKey:
    """A search attribute's name and value type: ``SearchAttributeKey.for_keyword("CustomerId")``.

    ``key.value_set(v)`` and ``key.value_unset()`` make the updates
    ``workflow.upsert_search_attributes([...])`` takes.
    """

    name: str
    indexed_value_type: SearchAttributeIndexedValueType

    @classmethod
    def for_text(cls, name: str) -> SearchAttributeKey:
        return cls(name, _Type.TEXT)

    @classmethod
    def for_keyword(cls, name: str) -> SearchAttributeKey:
        return cls(name, _Type.KEYWORD)

    @classmethod
    def for_int(cls, name: str) -> SearchAttributeKey:
        return cls(name, _Type.INT)

    @classmethod
    def for_float(cls, name: str) -> SearchAttributeKey:
        return cls(name, _Type.DOUBLE)

    @classmethod
    def for_bool(cls, name: str) -> SearchAttributeKey:
        return cls(name, _Type.BOOL)

    @classmethod
    def for_datetime(cls, name: str) -> SearchAttributeKey:
        return cls(name, _Type.DATETIME)

    @classmethod
    def for_keyword_list(cls, name: str) -> SearchAttributeKey:
        return cls(name, _Type.KEYWORD_LIST)

    def value_set(self, value: Any) -> SearchAttributeUpdate:
        """An update that sets this attribute to ``value`` (checked against the key's type).

        Raises:
            TypeError: ``value`` is not of the key's type.
        """
        _typed_to_json(self, value)
        return SearchAttributeUpdate(self, value)

    def value_unset(self) -> SearchAttributeUpdate:
        """An update that removes this attribute."""
        return SearchAttributeUpdate(self, None)


@dataclass(frozen=True)
class SearchAttributePair:
    """A search attribute key with its value."""

    key: SearchAttributeKey
    value: Any


@dataclass(frozen=True)
class SearchAttributeUpdate:
    """Set (``value``) or remove (``None``) one search attribute."""

    key: SearchAttributeKey
    value: Any


@dataclass(frozen=True)
class TypedSearchAttributes:
    """Search attributes with their types (``workflow.info().typed_search_attributes``).

    ``attrs[key]`` and ``attrs.get(key)`` look a key up by name and read the stored value as
    the key's type (a datetime key gives a ``datetime``). Attributes set without a type
    (a dict) are typed from their JSON value: string as keyword, list as keyword list.
    """

    search_attributes: Sequence[SearchAttributePair] = ()

    empty: ClassVar[TypedSearchAttributes]

    def __len__(self) -> int:
        return len(self.search_attributes)

    def __iter__(self) -> Iterator[SearchAttributePair]:
        return iter(self.search_attributes)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, SearchAttributeKey) and self.get(key, _MISSING) is not _MISSING

    def __getitem__(self, key: SearchAttributeKey) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key.name)
        return value

    def get(self, key: SearchAttributeKey, default: Any = None) -> Any:
        """The value of ``key`` as its type, or ``default`` if absent or of another type."""
        for pair in self.search_attributes:
            if pair.key.name == key.name:
                try:
                    return _typed_from_json(key, _typed_to_json(pair.key, pair.value))
                except (TypeError, ValueError):
                    return default
        return default

    def updated(
        self, *updates: SearchAttributePair | SearchAttributeUpdate
    ) -> TypedSearchAttributes:
        """A copy with ``updates`` applied (a ``None`` value removes the key)."""
        merged = {pair.key.name: pair for pair in self.search_attributes}
        for update in updates:
            if update.value is None:
                merged.pop(update.key.name, None)
            else:
                merged[update.key.name] = SearchAttributePair(update.key, update.value)
        return TypedSearchAttributes(tuple(merged.values()))

    def to_json(self) -> dict[str, Any]:
        """The attributes as stored: a dict of JSON values."""
        return {pair.key.name: _typed_to_json(pair.key, pair.value) for pair in self}

    @classmethod
    def from_json(cls, values: Mapping[str, Any]) -> TypedSearchAttributes:
        """Stored attributes, each typed from its JSON value."""
        return cls(tuple(SearchAttributePair(_key_for(name, v), v) for name, v in values.items()))


TypedSearchAttributes.empty = TypedSearchAttributes()

_MISSING: Any = object()


def _key_for(name: str, value: Any) -> SearchAttributeKey:
    if isinstance(value, bool):
        return SearchAttributeKey.for_bool(name)
    if isinstance(value, int):
        return SearchAttributeKey.for_int(name)
    if isinstance(value, float):
        return SearchAttributeKey.for_float(name)
    if isinstance(value, list):
        return SearchAttributeKey.for_keyword_list(name)
    return SearchAttributeKey.for_keyword(name)


def _typed_to_json(key: SearchAttributeKey, value: Any) -> Any:
    """``value`` as stored for ``key``'s type. Raises TypeError for a value of another type."""
    kind = key.indexed_value_type
    ok: bool
    if kind in (_Type.TEXT, _Type.KEYWORD):
        ok = isinstance(value, str)
    elif kind is _Type.INT:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is _Type.DOUBLE:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif kind is _Type.BOOL:
        ok = isinstance(value, bool)
    elif kind is _Type.DATETIME:
        ok = isinstance(value, datetime) and value.tzinfo is not None
        value = value.astimezone(UTC).isoformat() if ok else value
    else:
        ok = isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
        value = list(value) if ok else value
    if not ok:
        expected = kind.name.lower().replace("_", " ")
        hint = " (timezone-aware)" if kind is _Type.DATETIME else ""
        raise TypeError(f"Search attribute {key.name!r} is a {expected}{hint}; got {value!r}.")
    return value


def _typed_from_json(key: SearchAttributeKey, value: Any) -> Any:
    if key.indexed_value_type is _Type.DATETIME:
        if not isinstance(value, str):
            raise TypeError(value)
        return datetime.fromisoformat(value)
    if key.indexed_value_type is _Type.DOUBLE and isinstance(value, int):
        return float(value)
    return value


#: Values an untyped (dict) update may set: stored as they are, datetimes as ISO text.
_UNTYPED = (str, int, float, bool)


def search_attribute_updates(
    updates: Mapping[str, Any]
    | Sequence[SearchAttributeUpdate | SearchAttributePair]
    | TypedSearchAttributes,
) -> dict[str, Any]:
    """Updates (a dict, typed updates or pairs) as stored: name -> JSON value, or None to
    remove (an empty list removes too, as in Temporal).

    Raises:
        ValueError: a name that is not a usable search attribute name.
        TypeError: a value that is not a string, number, boolean, timezone-aware datetime
            or list of strings (or not of its typed key's type).
    """
    result: dict[str, Any] = {}
    items: list[tuple[str, Any, SearchAttributeKey | None]]
    if isinstance(updates, Mapping):
        items = [(str(name), value, None) for name, value in updates.items()]
    else:
        items = [(u.key.name, u.value, u.key) for u in updates]
    for name, value, key in items:
        if not SEARCH_ATTRIBUTE_NAME.fullmatch(name):
            raise ValueError(
                f"Search attribute name {name!r} is not usable: use letters, digits, '_' and "
                "'-', starting with a letter or '_', up to 100 characters."
            )
        if value is None or (isinstance(value, list | tuple) and not value):
            result[name] = None
        elif key is not None:
            result[name] = _typed_to_json(key, value)
        elif isinstance(value, datetime):
            result[name] = _typed_to_json(SearchAttributeKey.for_datetime(name), value)
        elif isinstance(value, list | tuple):
            result[name] = _typed_to_json(SearchAttributeKey.for_keyword_list(name), value)
        elif isinstance(value, _UNTYPED):
            result[name] = value
        else:
            raise TypeError(
                f"Search attribute {name!r}: {type(value).__name__} is not a search attribute "
                "value (a string, number, boolean, datetime or list of strings)."
            )
    return result


def merge_upserted(
    current: Mapping[str, Any], updates: Mapping[str, Any], *, empty_list_removes: bool
) -> dict[str, Any]:
    """``current`` with ``updates`` applied: a ``None`` value (or, for search attributes,
    an empty list) removes its key."""
    merged = dict(current)
    for name, value in updates.items():
        if value is None or (empty_list_removes and value == []):
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged
