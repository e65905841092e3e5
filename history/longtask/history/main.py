"""`longtask-history`: the history database's schema, by hand or from a deployment job.

    longtask-history migrate [--dsn DSN] [--revision REV]   # upgrade (default: the newest)
    longtask-history current [--dsn DSN]                    # the database's revision
    longtask-history prune   [--dsn DSN] [--days N]         # delete records past retention

The DSN defaults to LONGTASK_HISTORY_DSN (better than the flag: flags show in `ps`).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from collections.abc import Sequence

from . import engines, migrating, pruning, settings


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="longtask-history", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["migrate", "current", "prune"])
    parser.add_argument("--dsn", help="the database (default: $LONGTASK_HISTORY_DSN)")
    parser.add_argument("--revision", default="head", help="migrate to this revision")
    parser.add_argument(
        "--days", type=float, help="prune: retention in days (default: the setting's)"
    )
    return parser.parse_args(argv)


async def _prune(dsn: str, days: float, batch: int) -> int:
    engine = engines.create(dsn)
    try:
        before = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
        return await pruning.prune(engine, before, batch)
    finally:
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    configured = settings.from_env()
    dsn = args.dsn or configured.dsn
    if not dsn:
        sys.exit("no database: set LONGTASK_HISTORY_DSN or pass --dsn")
    try:
        engines.backend(dsn)
    except ValueError as exc:
        sys.exit(str(exc))
    if args.command == "migrate":
        migrating.upgrade(dsn, args.revision)
        print(f"{engines.safe(dsn)}: at revision {migrating.current(dsn)}")
    elif args.command == "current":
        print(migrating.current(dsn) or "empty (no history tables)")
    else:
        days = configured.retention_days if args.days is None else args.days
        if days <= 0:
            sys.exit("retention is 0 (keep every record): nothing to prune")
        deleted = asyncio.run(_prune(dsn, days, configured.prune_batch))
        print(f"pruned {deleted} records finished more than {days:g} days ago")
