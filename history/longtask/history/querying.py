"""Reading the history: a filtered page of one namespace's records, newest first, and one record
with its attempts and log tail.

Pages are keyset pages over (finished_at, id) descending: the cursor is the last row's key, so a
page costs the same however deep it is, and rows archived meanwhile never shift a page (they
are newer than the first page's cursor or land in their place by finish time).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from . import schema, selectors
from .records import Attempt, LogLine, Output

MAX_LIMIT: Final = 1000
MAX_CURSOR_CHARS: Final = 200


@dataclasses.dataclass(frozen=True)
class Filters:
    """What a page selects, all conditions together."""

    phases: tuple[str, ...] = ()
    selector: tuple[selectors.Requirement, ...] = ()
    name_prefix: str | None = None
    since: dt.datetime | None = None
    """Finished at or after."""
    until: dt.datetime | None = None
    """Finished before."""
    queue: str | None = None
    schedule: str | None = None


@dataclasses.dataclass(frozen=True)
class Entry:
    """A record as a list shows it (no spec, result, attempts or log)."""

    uid: str
    namespace: str
    name: str
    phase: str
    finished_at: dt.datetime
    archived_at: dt.datetime
    reason: str | None = None
    message: str | None = None
    progress: float | None = None
    attempt: int = 0
    queue: str | None = None
    schedule: str | None = None
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    result_ref: str | None = None
    created_at: dt.datetime | None = None
    started_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class Detail:
    """One record whole."""

    entry: Entry
    spec: Mapping[str, Any]
    params_digest: str | None
    result: Any
    dead_letter: Mapping[str, Any] | None
    attempts: Sequence[Attempt]
    log_tail: Sequence[LogLine]
    output: Output | None = None


@dataclasses.dataclass(frozen=True)
class Page:
    entries: list[Entry]
    next: str | None
    """The cursor of the next page; None on the last one."""


_ENTRY_COLUMNS: Final = [
    schema.tasks.c[f.name] for f in dataclasses.fields(Entry) if f.name in schema.tasks.c
]


def encode_cursor(finished_at: dt.datetime, row_id: int) -> str:
    raw = f"{finished_at.astimezone(dt.UTC).isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    """(finished_at, id) of a cursor; ValueError when it is not one of ours."""
    if len(cursor) > MAX_CURSOR_CHARS:
        raise ValueError("the cursor is too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, _, row_id = raw.partition("|")
        parsed = dt.datetime.fromisoformat(when)
        if parsed.tzinfo is None:
            raise ValueError("naive time")
        return parsed, int(row_id)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("not a history cursor") from None


def _label_condition(requirement: selectors.Requirement) -> sa.ColumnElement[bool]:
    labels, tasks = schema.labels, schema.tasks
    match = sa.select(labels.c.task_id).where(
        labels.c.task_id == tasks.c.id, labels.c.key == requirement.key
    )
    if requirement.values:
        match = match.where(labels.c.value.in_(requirement.values))
    if requirement.op in (selectors.Op.IN, selectors.Op.EXISTS):
        return match.exists()
    return ~match.exists()


def where(namespace: str, filters: Filters) -> list[sa.ColumnElement[bool]]:
    """The conditions of a page (without the cursor)."""
    tasks = schema.tasks
    conditions: list[sa.ColumnElement[bool]] = [tasks.c.namespace == namespace]
    if filters.phases:
        conditions.append(tasks.c.phase.in_(filters.phases))
    if filters.name_prefix:
        conditions.append(tasks.c.name.startswith(filters.name_prefix, autoescape=True))
    if filters.since is not None:
        conditions.append(tasks.c.finished_at >= filters.since)
    if filters.until is not None:
        conditions.append(tasks.c.finished_at < filters.until)
    if filters.queue is not None:
        conditions.append(tasks.c.queue == filters.queue)
    if filters.schedule is not None:
        conditions.append(tasks.c.schedule == filters.schedule)
    conditions.extend(_label_condition(r) for r in filters.selector)
    return conditions


def page_query(
    namespace: str, filters: Filters, limit: int, cursor: str | None = None
) -> sa.Select[Any]:
    """The SELECT of one page (one row more than `limit`, to know whether more follow)."""
    tasks = schema.tasks
    query = sa.select(tasks.c.id, *_ENTRY_COLUMNS).where(*where(namespace, filters))
    if cursor:
        finished_at, row_id = decode_cursor(cursor)
        # A row-value comparison, not an OR of two: both databases read it as one range of
        # the (namespace, finished_at, id) index.
        query = query.where(sa.tuple_(tasks.c.finished_at, tasks.c.id) < (finished_at, row_id))
    return query.order_by(tasks.c.finished_at.desc(), tasks.c.id.desc()).limit(limit + 1)


async def search(
    engine: AsyncEngine, namespace: str, filters: Filters, limit: int, cursor: str | None = None
) -> Page:
    """One page of `namespace`'s records matching `filters`, newest first."""
    limit = max(1, min(limit, MAX_LIMIT))
    async with engine.connect() as conn:
        rows = (await conn.execute(page_query(namespace, filters, limit, cursor))).all()
    entries = [_entry(row._mapping) for row in rows[:limit]]
    more = len(rows) > limit
    last = rows[limit - 1] if more else None
    next_cursor = encode_cursor(last.finished_at, last.id) if last is not None else None
    return Page(entries, next_cursor)


async def get(engine: AsyncEngine, namespace: str, uid: str) -> Detail | None:
    """The record of task `uid` in `namespace`, or None."""
    tasks = schema.tasks
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.select(tasks).where(tasks.c.namespace == namespace, tasks.c.uid == uid)
            )
        ).first()
        if row is None:
            return None
        attempt_rows = (
            await conn.execute(
                sa.select(schema.attempts)
                .where(schema.attempts.c.task_id == row.id)
                .order_by(schema.attempts.c.number)
            )
        ).all()
        lines = (
            await conn.execute(
                sa.select(schema.logs.c.lines).where(schema.logs.c.task_id == row.id)
            )
        ).scalar()
        output_row = (
            await conn.execute(sa.select(schema.outputs).where(schema.outputs.c.task_id == row.id))
        ).first()
    values = row._mapping
    return Detail(
        entry=_entry(values),
        spec=values["spec"] or {},
        params_digest=values["params_digest"],
        result=values["result"],
        dead_letter=values["dead_letter"],
        attempts=[
            Attempt(**{k: v for k, v in a._mapping.items() if k != "task_id"}) for a in attempt_rows
        ],
        log_tail=[
            LogLine(line=str(x.get("line", "")), attempt=x.get("attempt")) for x in lines or []
        ],
        output=None
        if output_row is None
        else Output(**{k: v for k, v in output_row._mapping.items() if k != "task_id"}),
    )


def _entry(values: Mapping[Any, Any]) -> Entry:
    fields = {f.name: values[f.name] for f in dataclasses.fields(Entry)}
    fields["labels"] = fields["labels"] or {}
    return Entry(**fields)
