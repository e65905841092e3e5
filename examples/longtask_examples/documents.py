"""A document batch: generate N documents, split each into chunks, process them one by one.

Stands in for "parse and embed 100 documents": each chunk gets a cheap deterministic vector
(a hash), each document a summary. Progress advances per document; after each document a
checkpoint records what is done, so a retried attempt continues where the last one stopped.

params: `documents` (N, default 20), `paragraphs` (per document, default 8), `delay` (seconds of
"work" per chunk, default 0.01), `seed` (default 7).
"""

from __future__ import annotations

import hashlib
import random
import time
from typing import Any

from longtask.runner import PermanentError, TaskContext

# fmt: off
WORDS = (
    "task", "progress", "runner", "operator", "stream", "redis", "status", "event", "retry",
    "backoff", "checkpoint", "batch", "document", "chunk", "vector", "summary", "cluster", "node",
    "pod", "job", "attempt", "deadline", "cancel", "result",
)
# fmt: on


def generate(index: int, paragraphs: int, seed: int) -> str:
    """Document `index` of the batch (deterministic for a seed)."""
    rng = random.Random(seed * 100_003 + index)
    return "\n\n".join(
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 60))) for _ in range(paragraphs)
    )


def split(text: str) -> list[str]:
    return [part.strip() for part in text.split("\n\n") if part.strip()]


def embed(chunk: str, dims: int = 8) -> list[float]:
    digest = hashlib.sha256(chunk.encode()).digest()
    return [round(b / 255, 3) for b in digest[:dims]]


def process(ctx: TaskContext, params: dict[str, Any]) -> dict[str, Any]:
    count = int(params.get("documents", 20))
    paragraphs = int(params.get("paragraphs", 8))
    delay = float(params.get("delay", 0.01))
    seed = int(params.get("seed", 7))
    if count < 0 or paragraphs < 1:
        raise PermanentError("documents must be >= 0 and paragraphs >= 1")

    state = ctx.last_checkpoint or {"done": 0, "chunks": 0, "words": 0}
    if state["done"]:
        ctx.logger.info("resuming after %d documents (attempt %d)", state["done"], ctx.attempt)
    remaining = range(state["done"], count)
    for index in ctx.track(
        remaining,
        message=lambda i: f"document {i + 1}/{count}",
        start=100 * state["done"] / max(count, 1),
    ):
        chunks = split(generate(index, paragraphs, seed))
        for chunk in chunks:
            ctx.raise_if_cancelled()
            embed(chunk)
            time.sleep(delay)
        state = {
            "done": index + 1,
            "chunks": state["chunks"] + len(chunks),
            "words": state["words"] + sum(len(c.split()) for c in chunks),
        }
        ctx.checkpoint(state)
    ctx.progress(100, f"processed {count} documents")
    return {"documents": count, "chunks": state["chunks"], "words": state["words"]}
