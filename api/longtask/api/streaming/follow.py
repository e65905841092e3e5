"""Following a task: the sequence of SSE frames one client receives, whatever the transport.

`follow_task` yields batches of frames: first a `snapshot` (no id), then every entry of the
task's event stream after the resume id, read from the hub (see `hub`), until the `end` event.
A tail follow starts from the task's current state instead (`tailing`).
While Redis is unreachable it follows a watch of the LongTask instead (`tracking`) and goes back
to the stream when Redis returns, reading on from the last stream id it delivered. When it
returns as another master (a Sentinel failover), the entries written just before it may be lost
(asynchronous replication): the client gets a `gap` after its last id, without a count. The SSE and
WebSocket routes only encode these batches.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any, Final, Protocol

from longtask.api import selectors, taskobjects
from longtask.api.streaming import gaps, positions, sse, streamids, tailing, tracking
from longtask.api.streaming.hub import Entry, Gap, Signal, StreamHub, Subscription, rows
from longtask.api.streaming.watches import WatchEvent, WatchHub
from longtask.core import events, keys, taskstate
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

PAGE: Final = 500
# What a follow yields: batches of frames, each batch one write to the client.
Batches = AsyncGenerator[list[sse.Frame], None]


@dataclass
class Followers:
    """What following needs: the stream hub, a Redis client for catch-up reads, the shared
    namespace watches (fallback and namespace streams)."""

    hub: StreamHub
    redis: Redis
    watches: WatchHub
    end_grace_seconds: float = 10.0
    queue_size: int = 2000


class Sink(Protocol):
    """Where a follow may write frames itself, outside of its batches (hub design choice 7):
    the client's socket, when the transport can take them now without waiting."""

    def writable(self) -> bool:
        """Whether a write now would go out at once (the response started, the socket is not
        backed up, the client is still there)."""

    def write(self, frames: list[sse.Frame]) -> None:
        """Write the frames now (only after `writable()` said so)."""


# Entries a follow writes itself (hub design choice 7): not a status or an end, which may make
# the task final and so change how the follow waits (a grace period, its own end).
_DIRECT_EXCLUDED: Final = frozenset({events.EventType.STATUS.value, events.EventType.END.value})


class Dropped(Exception):
    """The client fell too far behind and is cut off (it resumes by Last-Event-ID)."""


async def read_after(
    redis: Redis, key: str, after: str
) -> AsyncIterator[list[Entry] | events.GapEvent]:
    """Pages of the entries of `key` after id `after` (exclusive), until the end, each after
    the gap before it when entries between the cursor and it were trimmed (`gaps`)."""
    cursor = after
    while True:
        page = await gaps.read_page(redis, key, cursor, PAGE)
        if page.gap is not None:
            yield page.gap
        if page.rows:
            yield [Entry(key, i, f) for i, f in page.rows]
            cursor = page.rows[-1][0]
        if len(page.rows) < PAGE:
            return


def gap_frame(gap: events.GapEvent) -> sse.Frame:
    """A gap as an SSE event without an id (it moves no resume point)."""
    return sse.frame(events.SseEvent.GAP, gap)


def entry_frame(entry: Entry, result_href: str | None = None) -> sse.Frame:
    """The entry's frame, decoded and encoded once for every client of the task. A `result`
    event gets `href`, where the result is answered whatever its size (`result_href`)."""
    frame: sse.Frame | None = entry.memo.get("frame")
    if frame is None:
        frame = sse.entry_frame(entry.id, entry.fields)
        if result_href is not None and frame.event == events.EventType.RESULT:
            frame = sse.frame(frame.event, {**frame.payload(), "href": result_href}, entry.id)
        entry.memo["frame"] = frame
    return frame


def snapshot(obj: dict[str, Any]) -> sse.Frame:
    view = taskobjects.task_view(obj)
    return sse.frame(sse.SNAPSHOT, view.model_dump(mode="json", by_alias=True))


def version_of(event: WatchEvent, name: str) -> tuple[bool, dict[str, Any] | None]:
    """(whether the event concerns task `name`, its new version or None when it is gone)."""
    if event.kind == "LIST":
        found = [o for o in event.obj.get("items") or [] if _name(o) == name]
        return True, found[0] if found else None
    if _name(event.obj) != name:
        return False, None
    return True, None if event.kind == "DELETED" else event.obj


def _name(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


class _Follow:
    """The state of one client's follow (kept out of the generator for readability)."""

    def __init__(self, deps: Followers, obj: dict[str, Any], after: str) -> None:
        meta = obj.get("metadata") or {}
        self.deps = deps
        self.namespace = str(meta.get("namespace"))
        self.name = str(meta.get("name"))
        self.key = keys.events(str(meta.get("uid")))
        self.result_href = taskobjects.result_path(self.namespace, self.name)
        # What this client has been told of the task (see `tracking`).
        self.known = taskstate.of_status(obj.get("status") or {})
        self.last = after
        self.last_order = streamids.parse(after)
        self.watching = False
        self.done = False
        self.failed_over = False  # Redis came back as another master: say what may be lost
        self.uid = str(meta.get("uid"))
        # The task's queue's snapshots while it may wait (see `positions`), and what this
        # client was told of its place last.
        self.queue_key = positions.snapshot_key(obj)
        self.place: tuple[Any, ...] | None = None

    def place_frames(self, entry: Entry) -> list[sse.Frame]:
        """A `queue` frame when the snapshot moves this task's place (while it waits)."""
        if self.done or not positions.waits(self.known):
            return []
        event = positions.queue_event(entry, self.uid)
        if event is None:
            return []
        place = (event["position"], event["reason"], event["eta"])
        if place == self.place:
            return []
        self.place = place
        return [positions.frame(event)]

    async def follow_queue(self, sub: Subscription) -> list[sse.Frame]:
        """Subscribe `sub` to the queue's snapshots; the frame of the latest one."""
        if self.queue_key is None:
            return []
        latest = rows(await self.deps.redis.xrevrange(self.queue_key, count=1))
        after = latest[0][0] if latest else streamids.START
        await self.deps.hub.subscribe(self.queue_key, after, sub)
        return self.place_frames(Entry(self.queue_key, *latest[0])) if latest else []

    def accept(self, entries: list[Entry]) -> list[sse.Frame]:
        """Frames of the entries after the last delivered id; stops at `end`."""
        frames = []
        for entry in entries:
            if self.done or entry.order <= self.last_order:
                continue
            frame = entry_frame(entry, self.result_href)
            self.last, self.last_order = entry.id, entry.order
            # What the entry teaches is the same for every client that knew the same: the
            # first computes it, the others (already sharing its state object) reuse it.
            memo = entry.memo.get("state")
            if memo is not None and (memo[0] is self.known or memo[0] == self.known):
                self.known = memo[1]
            else:
                known = taskstate.apply(self.known, frame.payload())
                entry.memo["state"] = (self.known, known)
                self.known = known
            frames.append(frame)
            if frame.is_end:
                self.done = True
        return frames

    def direct(self, sink: Sink, entry: Entry) -> bool:
        """Write `entry`'s frames to `sink` at once, from the hub's fan-out while this
        client's task sleeps with nothing queued (hub design choice 7); False: queue it."""
        if self.watching or self.done or entry.key != self.key or not sink.writable():
            return False
        if entry_frame(entry, self.result_href).event in _DIRECT_EXCLUDED:
            return False
        if frames := self.accept([entry]):
            sink.write(frames)
        return True

    def trimmed(self, gap: events.GapEvent) -> list[sse.Frame]:
        """The hub's reader found entries trimmed before it read them (hub design choice 6):
        a `gap` from this client's last id, unless it already holds what follows the hole."""
        before = gap["before"]
        if self.done or (before is not None and not streamids.is_after(before, self.last)):
            return []
        return [gap_frame(events.gap(self.last, before))]

    async def catch_up(self, cached: list[Entry] | None) -> Batches:
        if cached is not None:
            if replay := self.accept(cached):
                yield replay
            return
        # After a failover, what followed the last id may be gone: one gap says so first.
        lost, self.failed_over = self.failed_over and not self.done, False
        after = self.last
        async for page in read_after(self.deps.redis, self.key, self.last):
            if isinstance(page, list):
                frames = self.accept(page)
                if lost:
                    frames.insert(0, gap_frame(events.gap(after, page[0].id)))
            else:  # entries trimmed away: this gap covers the failover's too
                frames = [] if self.done else [gap_frame(page)]
            lost = False
            if frames:
                yield frames
            if self.done:
                return
        if lost:
            yield [gap_frame(events.gap(after, None))]

    def start_watch(self, sub: Subscription) -> None:
        if not self.watching:
            self.watching = True
            self.deps.watches.subscribe(self.namespace, sub)

    def stop_watch(self, sub: Subscription) -> None:
        if self.watching:
            self.watching = False
            self.deps.watches.unsubscribe(self.namespace, sub)


async def follow_task(
    deps: Followers, obj: dict[str, Any], after: str, tail: bool = False, sink: Sink | None = None
) -> Batches:
    """Batches of frames for one client of one task (see the module docstring); with `tail`,
    from the task's current state on (see `tailing`). With `sink`, entries that arrive while
    the client is idle are written to it at once instead (hub design choice 7)."""
    first = snapshot(obj)
    known = None
    if tail:
        try:
            start = await tailing.tail(deps.redis, obj, after)
            first, after, known = start.snapshot, start.after, start.known
        except RedisError:
            deps.hub.report_failure()  # the plain snapshot, then the watch
    state = _Follow(deps, obj, after)
    # The task and its snapshot are not needed any more: with thousands of open streams their
    # copies would stay in memory for as long as each stream does.
    del obj
    if known is not None:
        state.known = known
    yield [first]
    del first
    sub, cached = await deps.hub.subscribe(state.key, after)
    try:
        if deps.hub.available:
            try:
                async for caught in state.catch_up(cached):
                    yield caught
                if placed := await state.follow_queue(sub):
                    yield placed
            except RedisError:
                deps.hub.report_failure()
                state.start_watch(sub)
        else:
            state.start_watch(sub)
        if sink is not None:
            # From here on everything yielded before has been written: the frames written
            # directly come after it.
            sub.direct = lambda entry: state.direct(sink, entry)
        while not state.done:
            # A final task whose stream holds no end (expired, or the writer never got to it)
            # gets one after a grace period, so clients never wait forever.
            grace = deps.end_grace_seconds if state.known.final and not state.watching else None
            try:
                batch = await sub.next_batch(grace)
            except TimeoutError:
                yield [tracking.end(state.known, synthetic=True)]
                return
            frames: list[sse.Frame] = []
            for item in batch:
                if state.done:
                    break
                if isinstance(item, Entry) and item.key == state.queue_key:
                    frames += state.place_frames(item)
                elif isinstance(item, Entry):
                    frames += state.accept([item])
                elif isinstance(item, Gap) and item.key == state.key:
                    frames += state.trimmed(item.event)
                elif item is Signal.DOWN:
                    state.start_watch(sub)
                elif item is Signal.FAILOVER:
                    state.failed_over = True
                elif item is Signal.UP and state.watching:
                    state.stop_watch(sub)
                    try:
                        async for caught in state.catch_up(None):
                            frames += caught
                    except RedisError:
                        deps.hub.report_failure()
                        state.start_watch(sub)
                elif isinstance(item, WatchEvent) and state.watching:
                    mine, version = version_of(item, state.name)
                    if not mine:
                        continue
                    if version is None:
                        frames.append(tracking.end(state.known, deleted=True))
                        state.done = True
                    else:
                        known = taskstate.absorb(state.known, version.get("status") or {})
                        changes = tracking.frames(state.known, known)
                        state.known = known
                        frames += changes
                        state.done = any(f.is_end for f in changes)
            if frames:
                yield frames
            if sub.overflowed and not state.done:
                raise Dropped(f"client of {state.namespace}/{state.name} fell behind")
    finally:
        state.stop_watch(sub)
        deps.hub.unsubscribe(sub)


@dataclass(frozen=True, slots=True)
class NamespaceView:
    """What one client of the namespace stream asked to see."""

    snapshot: bool = True
    """Start with (and, after the watch lists again, resend) the snapshot of every task; when
    False, a `ready` event instead: changes from there on follow (the client lists then)."""
    selector: selectors.Selector = selectors.EVERYTHING
    """Only tasks whose labels match (deletions are always sent: the client may show them)."""

    def keeps(self, obj: dict[str, Any]) -> bool:
        return self.selector.matches((obj.get("metadata") or {}).get("labels") or {})


EVERY_TASK: Final = NamespaceView()


def namespace_frame(event: WatchEvent, view: NamespaceView = EVERY_TASK) -> sse.Frame | None:
    """The frame of a change in the namespace for a client with `view`; None: nothing for it."""
    if event.kind == "LIST":
        if not view.snapshot:
            # Only now is every later change sure to follow: what changed before this LIST is
            # in it, and a client that listed earlier would never hear of it (READY's comment).
            return sse.frame(events.SseEvent.READY, {})
        items = [
            taskobjects.task_view(item).model_dump(mode="json", by_alias=True)
            for item in event.obj.get("items") or []
            if view.keeps(item)
        ]
        return sse.frame(sse.SNAPSHOT, {"items": items})
    if event.kind == "DELETED":
        meta = event.obj.get("metadata") or {}
        return sse.frame(
            events.SseEvent.DELETED, {"name": meta.get("name"), "uid": meta.get("uid")}
        )
    if not view.keeps(event.obj):
        return None
    return sse.frame(
        events.SseEvent.TASK,
        taskobjects.task_view(event.obj).model_dump(mode="json", by_alias=True),
    )


async def follow_namespace(
    deps: Followers, namespace: str, view: NamespaceView = EVERY_TASK
) -> Batches:
    """The namespace-wide stream for dashboards: `snapshot` (every task; `ready` when the view
    asks for none), then `task` and `deleted` events from the namespace's shared watch (no ids:
    a reconnect gets a fresh snapshot or `ready`). With a selector, only the matching tasks."""
    sub = Subscription(deps.queue_size)
    deps.watches.subscribe(namespace, sub)
    try:
        while True:
            batch = await sub.next_batch()
            found = (namespace_frame(i, view) for i in batch if isinstance(i, WatchEvent))
            frames = [frame for frame in found if frame is not None]
            if frames:
                yield frames
            if sub.overflowed:
                raise Dropped(f"client of namespace {namespace} fell behind")
    finally:
        deps.watches.unsubscribe(namespace, sub)
