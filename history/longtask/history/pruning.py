"""Retention: records finished before a cut-off are deleted in batches (short transactions).

Each batch picks the oldest ids and deletes them by id; their attempt, label and log rows go
with them (ON DELETE CASCADE). The caller repeats until a batch comes back short.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from . import schema


async def prune_batch(engine: AsyncEngine, before: dt.datetime, batch: int) -> int:
    """Delete up to `batch` records finished before `before`; how many were deleted."""
    tasks = schema.tasks
    async with engine.begin() as conn:
        oldest = (
            sa.select(tasks.c.id)
            .where(tasks.c.finished_at < before)
            .order_by(tasks.c.finished_at, tasks.c.id)
            .limit(batch)
        )
        ids = list((await conn.execute(oldest)).scalars())
        if ids:
            await conn.execute(sa.delete(tasks).where(tasks.c.id.in_(ids)))
    return len(ids)


async def prune(engine: AsyncEngine, before: dt.datetime, batch: int = 1000) -> int:
    """Delete every record finished before `before`, batch by batch; how many were deleted."""
    total = 0
    while True:
        deleted = await prune_batch(engine, before, batch)
        total += deleted
        if deleted < batch:
            return total
