"""A background watch that stamps when each object of a namespace first matched a condition.

Benchmarks measure "created → Job exists" or "submitted → Succeeded" from the watch's receipt
times, so a polling interval never adds to a latency.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from kubernetes import client, watch


class Stamps:
    """name → time.time() when `match(obj)` first held, for objects `lister(*args)` lists
    (a namespaced list function of the kubernetes client: Jobs, or custom objects)."""

    def __init__(
        self,
        lister: Callable[..., Any],
        args: tuple[str, ...],
        match: Callable[[Any], bool] = lambda _: True,
        **list_args: Any,
    ) -> None:
        self.lister = lister
        self.args = args
        self.match = match
        self.list_args = list_args
        self.seen: dict[str, float] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Stamps:
        self.thread.start()
        if not self.ready.wait(30):
            raise TimeoutError("the watch did not start")
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        self.thread.join(15)

    def count(self) -> int:
        with self.lock:
            return len(self.seen)

    def _note(self, obj: Any) -> None:
        name = obj["metadata"]["name"] if isinstance(obj, dict) else obj.metadata.name
        if name not in self.seen and self.match(obj):
            with self.lock:
                self.seen.setdefault(name, time.time())

    def _run(self) -> None:
        version = ""
        while not self.stopping.is_set():
            try:
                if not version:
                    listed = self.lister(*self.args, **self.list_args)
                    items = listed["items"] if isinstance(listed, dict) else listed.items
                    for obj in items:
                        self._note(obj)
                    meta = listed["metadata"] if isinstance(listed, dict) else listed.metadata
                    version = (
                        meta["resourceVersion"] if isinstance(meta, dict) else meta.resource_version
                    )
                    self.ready.set()
                stream = watch.Watch()
                for event in stream.stream(
                    self.lister,
                    *self.args,
                    resource_version=version,
                    timeout_seconds=2,
                    **self.list_args,
                ):
                    obj = event["object"]
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self._note(obj)
                    meta = obj["metadata"] if isinstance(obj, dict) else obj.metadata
                    version = (
                        meta["resourceVersion"] if isinstance(meta, dict) else meta.resource_version
                    )
                    if self.stopping.is_set():
                        stream.stop()
            except client.ApiException as exc:
                if exc.status == 410:  # too old: list again
                    version = ""
                else:
                    time.sleep(0.5)
