"""Filtering runs by search attributes: a small list-filter language, and ``name:value`` pairs.

The language is a subset of Temporal's list filter::

    CustomerId = "c-7" AND Amount > 10 AND Tags = "vip" AND ExecutionStatus = "Running"

Conditions are ``Name OP value`` joined by ``AND`` (no ``OR``, no parentheses). ``OP`` is
one of ``= != > >= < <=``; a value is a quoted string (``"..."`` or ``'...'``, backslash
escapes ``\\"``), a number, ``true`` or ``false``. ``=`` on a keyword list matches a run
whose list holds the value. ``WorkflowId``, ``WorkflowType``, ``TaskQueue`` and
``ExecutionStatus`` name the run's own columns (``=`` and ``!=`` only).

On PostgreSQL, ``=`` is a JSON containment (``search_attributes @> '{"Name": value}'``),
which the GIN index (jsonb_path_ops) serves; ranges are ``jsonb_path_match`` with the value
passed as a variable. Every value reaches the database as a parameter; names are checked
against ``SEARCH_ATTRIBUTE_NAME`` first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import BooleanField, F, Func, Q, QuerySet, TextField, Value
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast

from .. import _json
from ..common import SEARCH_ATTRIBUTE_NAME
from ..exceptions import InvalidArgumentError
from ..models import WorkflowExecution, WorkflowStatus

#: The longest query text accepted, and the most conditions in one.
MAX_QUERY_LENGTH = 2000
MAX_CONDITIONS = 20

OPERATORS = ("=", "!=", ">", ">=", "<", "<=")
_RANGES = {">": ">", ">=": ">=", "<": "<", "<=": "<="}

#: The run's own columns a query may name (Temporal's names), compared with = and !=.
BUILT_IN = {
    "WorkflowId": "workflow_id",
    "WorkflowType": "workflow_type",
    "TaskQueue": "task_queue",
    "ExecutionStatus": "status",
}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?![\w.-])
      | (?P<operator>>=|<=|!=|=|>|<)
      | (?P<word>[A-Za-z_][A-Za-z0-9_\-]*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Condition:
    """``name operator value``: one condition of a query."""

    name: str
    operator: str
    value: str | int | float | bool


def parse_query(text: str) -> list[Condition]:
    """The conditions of a list-filter query (see the module's docstring).

    Raises:
        InvalidArgumentError: the query does not parse; the message says where and why.
    """
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidArgumentError(f"Query is longer than {MAX_QUERY_LENGTH} characters.")
    tokens = _tokens(text)
    conditions: list[Condition] = []
    position = 0

    def take(kind: str, what: str) -> str:
        nonlocal position
        if position >= len(tokens):
            raise InvalidArgumentError(f"Query: expected {what} at the end of the query.")
        found_kind, found, at = tokens[position]
        if found_kind != kind:
            raise InvalidArgumentError(f"Query: expected {what} at position {at}, found {found!r}.")
        position += 1
        return found

    while True:
        name = take("word", "a search attribute name")
        if not SEARCH_ATTRIBUTE_NAME.fullmatch(name) or name.upper() == "AND":
            raise InvalidArgumentError(f"Query: {name!r} is not a usable search attribute name.")
        operator = take("operator", f"an operator ({' '.join(OPERATORS)}) after {name!r}")
        value = _value(tokens, position, name)
        position += 1
        condition = Condition(name, operator, value)
        _check(condition)
        conditions.append(condition)
        if position == len(tokens):
            break
        conjunction = take("word", "AND")
        if conjunction.upper() != "AND":
            raise InvalidArgumentError(
                f"Query: expected AND, found {conjunction!r} (OR and parentheses are not "
                "supported)."
            )
        if len(conditions) == MAX_CONDITIONS:
            raise InvalidArgumentError(f"Query: at most {MAX_CONDITIONS} conditions.")
    return conditions


def _tokens(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    at = 0
    stripped_end = len(text.rstrip())
    while at < stripped_end:
        match = _TOKEN.match(text, at)
        if match is None or match.lastgroup is None:
            start = len(text) - len(text[at:].lstrip())
            raise InvalidArgumentError(
                f"Query: unexpected {text[start : start + 10]!r} at position {start}."
            )
        tokens.append((match.lastgroup, match.group(match.lastgroup), match.start(match.lastgroup)))
        at = match.end()
    if not tokens:
        raise InvalidArgumentError("Query is empty.")
    return tokens


Scalar = str | int | float | bool


def _value(tokens: list[tuple[str, str, int]], position: int, name: str) -> Scalar:
    if position >= len(tokens):
        raise InvalidArgumentError(f"Query: expected a value for {name!r} at the end.")
    kind, text, at = tokens[position]
    if kind == "string":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    if kind == "number":
        number = float(text)
        return int(text) if number.is_integer() and re.fullmatch(r"-?\d+", text) else number
    if kind == "word" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    raise InvalidArgumentError(
        f"Query: expected a value for {name!r} at position {at} (a quoted string, a number, "
        f"true or false), found {text!r}."
    )


def _status(value: str) -> str:
    """Temporal spells statuses "Running", "ContinuedAsNew"; ours "RUNNING", "CONTINUED_AS_NEW"."""
    wanted = value.replace("_", "").upper()
    for status in WorkflowStatus.values:
        if status.replace("_", "") == wanted:
            return status
    raise InvalidArgumentError(
        f"Query: unknown ExecutionStatus {value!r}; one of {', '.join(WorkflowStatus.values)}."
    )


def _check(condition: Condition) -> None:
    if condition.name in BUILT_IN:
        if condition.operator not in ("=", "!=") or not isinstance(condition.value, str):
            raise InvalidArgumentError(
                f"Query: {condition.name} takes = or != and a quoted string."
            )
        if condition.name == "ExecutionStatus":
            _status(condition.value)
    elif condition.operator in _RANGES and isinstance(condition.value, bool):
        raise InvalidArgumentError(
            f"Query: {condition.name} {condition.operator} needs a number or a string, "
            "not a boolean."
        )


def pairs_as_conditions(pairs: Mapping[str, str]) -> list[Condition]:
    """``name:value`` filters (API ``search=``, CLI ``--search``, client keywords): each an
    equality compared as text, so ``priority:3`` matches the number 3 and the string "3".

    Raises:
        InvalidArgumentError: an unusable search attribute name.
    """
    conditions = []
    for name, text in sorted(pairs.items()):
        if not SEARCH_ATTRIBUTE_NAME.fullmatch(name):
            raise InvalidArgumentError(
                f"Search attribute name {name!r} is not usable in a filter: use letters, "
                "digits, '_' and '-', starting with a letter or '_'."
            )
        conditions.append(Condition(name, "~=", text))
    return conditions


def filter_by_query(rows: QuerySet[WorkflowExecution], query: str) -> QuerySet[WorkflowExecution]:
    """``rows`` narrowed by a list-filter query (the admin's search box uses it).

    Raises:
        InvalidArgumentError: the query does not parse; the message says where and why.
    """
    return filter_runs(rows, parse_query(query))


def filter_runs(
    rows: QuerySet[WorkflowExecution], conditions: list[Condition]
) -> QuerySet[WorkflowExecution]:
    """``rows`` narrowed to the runs meeting every condition."""
    postgres = connection.vendor == "postgresql"
    for index, condition in enumerate(conditions):
        if condition.name in BUILT_IN:
            rows = rows.filter(_built_in(condition))
        elif postgres:
            rows = rows.filter(_on_postgres(condition))
        else:
            rows = _elsewhere(rows, condition, f"_search_{index}")
    return rows


def _built_in(condition: Condition) -> Q:
    column, value = BUILT_IN[condition.name], str(condition.value)
    if column == "status":
        value = _status(value)
    q = Q(**{column: value})
    return ~q if condition.operator == "!=" else q


def _text_candidates(text: str) -> list[Any]:
    """The JSON values a ``name:value`` text filter matches: the string, and the number
    or boolean it spells."""
    candidates: list[Any] = [text]
    if text in ("true", "false"):
        candidates.append(text == "true")
    else:
        try:
            number = float(text)
        except ValueError:
            pass
        else:
            if number == number and abs(number) != float("inf"):
                candidates.append(int(number) if number.is_integer() else number)
    return candidates


def _contains(name: str, values: list[Any]) -> Q:
    q = Q()
    for value in values:
        q |= Q(search_attributes__contains={name: value})
        if isinstance(value, str):
            q |= Q(search_attributes__contains={name: [value]})  # a keyword list holding it
    return q


class _JsonPathMatch(Func):
    """``jsonb_path_match(search_attributes, path, vars, silent => true)``: a value of
    another type (or a missing key) is no match, never an error."""

    function = "jsonb_path_match"
    template = "%(function)s(%(expressions)s, true)"
    output_field = BooleanField()


def _on_postgres(condition: Condition) -> Q:
    name, operator, value = condition.name, condition.operator, condition.value
    if operator == "~=":
        return _contains(name, _text_candidates(str(value)))
    if operator == "=":
        return _contains(name, [value])
    if operator == "!=":
        return Q(search_attributes__has_key=name) & ~_contains(name, [value])
    # The name matched SEARCH_ATTRIBUTE_NAME (no quote or backslash), so quoting it is safe;
    # the value is a jsonpath variable.
    path = f'$."{name}" {_RANGES[operator]} $value'
    match = _JsonPathMatch(
        F("search_attributes"),
        Func(Value(path), template="%(expressions)s::jsonpath", output_field=TextField()),
        Func(
            Value(_json.dumps({"value": value})),
            template="%(expressions)s::jsonb",
            output_field=TextField(),
        ),
    )
    return Q(match)


def _elsewhere(
    rows: QuerySet[WorkflowExecution], condition: Condition, alias: str
) -> QuerySet[WorkflowExecution]:
    """Other databases (SQLite in development): no index; keyword lists match by ``=`` only
    on PostgreSQL."""
    name, operator, value = condition.name, condition.operator, condition.value
    if operator in ("~=", "=", "!="):
        # Cast to text: a bare key transform is compared as JSON on SQLite (the value is
        # parsed there, so "c-7" is malformed JSON); as text it reads the same everywhere.
        text = value if isinstance(value, str) else _json.dumps(value)
        as_text = Cast(KeyTextTransform(name, "search_attributes"), TextField())
        rows = rows.annotate(**{alias: as_text})
        if operator == "!=":
            return rows.filter(**{f"{alias}__isnull": False}).exclude(**{alias: text})
        return rows.filter(**{alias: text})
    rows = rows.annotate(**{alias: KeyTransform(name, "search_attributes")})
    lookup = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}[operator]
    return rows.filter(**{f"{alias}__{lookup}": value})
